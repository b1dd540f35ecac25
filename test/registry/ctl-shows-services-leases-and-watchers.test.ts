/**
 * `ballast ctl services`, `instances SERVICE` (alias `leases`) and `watchers` print the
 * registry: services with their counts, every lease with the time it has left, and who
 * watches what, with the address of each event-stream client.
 */
import assert from "node:assert/strict";
import { request } from "node:http";
import { test } from "node:test";
import { adminCall, httpConfigYaml, startBackends, startStack } from "../control/helpers.js";
import { ballastCtl } from "../support/ballast-cli.js";
import { waitFor } from "../support/wait.js";

test("ctl shows services, leases with their time left, and who watches what", async (t) => {
  const backends = await startBackends(1);
  const yaml = httpConfigYaml({ pools: { web: { backends } }, defaultPool: "web", admin: {} });
  await Promise.all(backends.map((b) => b.close()));
  const stack = await startStack(`${yaml}registry:\n  self_preservation: false\n`);
  t.after(() => stack.stop());
  for (const [id, port, zone] of [
    ["api-1", 7001, "eu-1"],
    ["api-2", 7002, "eu-2"],
  ] as const) {
    const answer = await adminCall(stack, "POST", "/api/registry/services/api/instances", {
      address: `127.0.0.1:${port}`,
      id,
      zone,
      ttl: "90s",
    });
    assert.equal(answer.status, 201);
  }
  // A watcher on "api": an event stream held open from this process.
  const watch = request(`${stack.adminUrl}/api/registry/services/api/events`, {
    headers: { authorization: `Bearer ${stack.token}` },
  });
  let watcherPort = 0;
  watch.on("socket", (socket) => {
    socket.on("connect", () => {
      watcherPort = socket.localPort ?? 0;
    });
  });
  watch.on("error", () => {});
  watch.end();
  t.after(() => watch.destroy());
  await waitFor("the watch to open", () => stack.runtime.registry!.watches.watchers().length === 1);
  const env = { BALLAST_ADMIN: stack.adminUrl, BALLAST_ADMIN_TOKEN: stack.token! };

  const services = await ballastCtl(["services"], env);
  assert.equal(services.code, 0, services.stderr);
  const apiLine = services.stdout.split("\n").find((l) => l.startsWith("api "));
  assert.ok(apiLine, services.stdout);
  assert.match(apiLine, /^api\s+2\s+0\s+\d+\s+1\s+0\s+ok$/, "2 instances, none expired, 1 stream");

  const leases = await ballastCtl(["instances", "api"], env);
  assert.equal(leases.code, 0, leases.stderr);
  const line = leases.stdout.split("\n").find((l) => l.startsWith("api-2"));
  assert.ok(line, leases.stdout);
  const left =
    /127\.0\.0\.1:7002\s+eu-2\s+1\s+1m30s\s+(?:(\d+)m(\d\d)s|(\d+)\.\ds)\s+0\s+\S+\s+live$/.exec(
      line,
    );
  assert.ok(left, line);
  const seconds = left[1] !== undefined ? Number(left[1]) * 60 + Number(left[2]) : Number(left[3]);
  assert.ok(seconds > 0 && seconds < 90, `the time left (${seconds} s) counts down from the TTL`);
  const alias = await ballastCtl(["leases", "api"], env);
  assert.match(
    alias.stdout,
    /^api-1\s+127\.0\.0\.1:7001\s+eu-1/m,
    "leases is an alias of instances",
  );

  const watchers = await ballastCtl(["watchers"], env);
  assert.equal(watchers.code, 0, watchers.stderr);
  assert.match(watchers.stdout, new RegExp(`api\\s+stream\\s+127\\.0\\.0\\.1:${watcherPort}\\s`));

  const json = await ballastCtl(["--json", "instances", "api"], env);
  assert.deepEqual(
    JSON.parse(json.stdout)
      .map((l: { id: string }) => l.id)
      .sort(),
    ["api-1", "api-2"],
  );
  const missing = await ballastCtl(["instances"], env);
  assert.equal(missing.code, 2, "a missing SERVICE is a usage error");
});
