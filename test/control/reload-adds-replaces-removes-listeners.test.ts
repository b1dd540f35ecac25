import assert from "node:assert/strict";
import type { AddressInfo } from "node:net";
import { createServer } from "node:net";
import { test } from "node:test";
import { waitFor } from "../support/wait.js";
import { adminCall, startBackends, startStack } from "./helpers.js";

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

test("a listener whose protocol changes on the same address is handed over to the new data plane", async (t) => {
  const backends = await startBackends(1);
  // A free port to bind explicitly: both listeners must use the same one.
  const probe = createServer();
  await new Promise<void>((done) => probe.listen(0, "127.0.0.1", done));
  const port = (probe.address() as AddressInfo).port;
  await new Promise<void>((done) => probe.close(() => done()));

  const stack = await startStack(yaml([web(`127.0.0.1:${port}`)], backends));
  t.after(async () => {
    await stack.stop();
    await Promise.all(backends.map((b) => b.close()));
  });
  assert.equal(stack.runtime.listeners.get("web")!.protocol, "http");
  const asTcp = `  - { name: web, protocol: tcp, bind: "127.0.0.1:${port}", pool: api }`;
  const answer = await adminCall(stack, "POST", "/api/reload", yaml([asTcp], backends));
  assert.equal(answer.status, 200, JSON.stringify(answer.body));
  assert.deepEqual(answer.body.notApplied, []);
  const listener = stack.runtime.listeners.get("web")!;
  assert.equal(listener.protocol, "tcp");
  assert.equal(listener.address().port, port);
  const response = await fetch(`http://127.0.0.1:${port}/`, { headers: { connection: "close" } });
  assert.equal(await response.text(), "b1");
});

test("a reload brings back a configured backend that was removed through the API", async (t) => {
  const backends = await startBackends(2);
  const config = yaml([web("127.0.0.1:0")], backends);
  const stack = await startStack(config);
  t.after(async () => {
    await stack.stop();
    await Promise.all(backends.map((b) => b.close()));
  });
  const pool = stack.runtime.pools.get("api")!;
  assert.equal((await adminCall(stack, "DELETE", "/api/pools/api/backends/b1?now=1")).status, 200);
  assert.equal(pool.get("b1"), undefined);
  // The same file again: the file is the truth for membership.
  const answer = await adminCall(stack, "POST", "/api/reload");
  assert.equal(answer.status, 200);
  assert.equal(answer.body.changed, true);
  assert.deepEqual(answer.body.summary.backendsRestored, ["api/b1"]);
  assert.ok(pool.get("b1"));
  // Nothing left to restore: the next reload changes nothing.
  const again = await adminCall(stack, "POST", "/api/reload");
  assert.equal(again.body.changed, false);
});
