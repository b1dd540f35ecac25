import assert from "node:assert/strict";
import { test } from "node:test";
import { adminCall, startBackends, startStack, waitFor } from "./helpers.js";

function yaml(listeners: string[], backends: { name: string; address: string }[]): string {
  return [
    "listeners:",
    ...listeners,
    "pools:",
    "  api:",
    "    algorithm: rr",
    "    backends:",
    ...backends.map((b) => `      - { name: ${b.name}, address: "${b.address}" }`),
    "log: { level: silent }",
    "",
  ].join("\n");
}

const web = (bind: string, extra = "") =>
  `  - { name: web, protocol: http, bind: "${bind}", default_pool: api, access_log: false${extra} }`;
const tcp = '  - { name: raw, protocol: tcp, bind: "127.0.0.1:0", pool: api }';

test("a reload starts new listeners, replaces one whose bind changed and stops removed ones gracefully", async (t) => {
  const backends = await startBackends(1);
  const stack = await startStack(yaml([web("127.0.0.1:0")], backends));
  t.after(async () => {
    await stack.stop();
    await Promise.all(backends.map((b) => b.close()));
  });
  const oldWeb = stack.runtime.listeners.get("web")!;

  // A slow request in flight on the old listener when it is replaced.
  const inFlight = fetch(`${stack.webUrl}/slow?delay=300`).then(async (r) => ({
    status: r.status,
    body: await r.text(),
  }));
  await waitFor(
    "the slow request to start",
    () => stack.runtime.pools.get("api")!.backends[0].active > 0,
  );

  const added = await adminCall(
    stack,
    "POST",
    "/api/reload",
    yaml([web("[::1]:0"), tcp], backends),
  );
  assert.equal(added.status, 200, JSON.stringify(added.body));
  assert.deepEqual(added.body.summary.listenersAdded, ["raw"]);
  assert.deepEqual(added.body.summary.listenersReplaced, ["web"]);

  const newWeb = stack.runtime.listeners.get("web")!;
  assert.notEqual(newWeb, oldWeb);
  assert.equal(newWeb.address().host, "::1");
  const viaNew = await fetch(`http://[::1]:${newWeb.address().port}/`);
  assert.equal(await viaNew.text(), "b1");
  const raw = stack.runtime.listeners.get("raw")!;
  const viaTcp = await fetch(`http://127.0.0.1:${raw.address().port}/`, {
    headers: { connection: "close" },
  });
  assert.equal(await viaTcp.text(), "b1", "the tcp listener added by the reload forwards");

  assert.deepEqual(
    await inFlight,
    { status: 200, body: "b1" },
    "the old listener finished its request",
  );
  // stop() is idempotent: this waits for the graceful stop the reload began.
  await oldWeb.stop();
  await assert.rejects(
    fetch(`${stack.webUrl}/`, { headers: { connection: "close" } }),
    "the old address no longer accepts",
  );

  const removed = await adminCall(stack, "POST", "/api/reload", yaml([web("[::1]:0")], backends));
  assert.equal(removed.status, 200);
  assert.deepEqual(removed.body.summary.listenersRemoved, ["raw"]);
  assert.equal(stack.runtime.listeners.has("raw"), false);
  const listed = await adminCall(stack, "GET", "/api/listeners");
  assert.deepEqual(
    listed.body.map((l: { name: string }) => l.name),
    ["web"],
  );
});

test("a reload whose new listener cannot bind is refused and changes nothing", async (t) => {
  const backends = await startBackends(2);
  const stack = await startStack(yaml([web("127.0.0.1:0")], backends.slice(0, 1)));
  t.after(async () => {
    await stack.stop();
    await Promise.all(backends.map((b) => b.close()));
  });
  const taken = stack.admin.address().port;
  const clash = yaml(
    [
      web("127.0.0.1:0"),
      `  - { name: clash, protocol: tcp, bind: "127.0.0.1:${taken}", pool: api }`,
    ],
    backends,
  );
  const answer = await adminCall(stack, "POST", "/api/reload", clash);
  assert.equal(answer.status, 422);
  assert.match(answer.body.errors.join("\n"), /EADDRINUSE|in use/i);
  assert.equal(stack.runtime.listeners.has("clash"), false);
  assert.deepEqual(
    stack.runtime.pools.get("api")!.backends.map((b) => b.id),
    ["b1"],
    "the backend added by the refused config did not join",
  );
  const response = await fetch(`${stack.webUrl}/`);
  assert.equal(await response.text(), "b1");
});
