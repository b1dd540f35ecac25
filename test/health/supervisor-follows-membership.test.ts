import assert from "node:assert/strict";
import { createServer } from "node:http";
import { test } from "node:test";
import { startPoolHealth } from "../../src/health/index.js";
import { silentLogger } from "../../src/log.js";
import { Pool } from "../../src/pool/pool.js";
import { waitFor } from "../support/wait.js";
import { closeServer, healthConfig, listenTcp, portOf } from "./helpers.js";

/** An HTTP health page that counts the checks it receives. */
async function countingServer(answer = true) {
  const hits = { count: 0 };
  const server = createServer((_request, response) => {
    hits.count++;
    if (answer) response.end("ok");
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  return { server, hits, port: portOf(server) };
}

test("a backend added later starts down and comes up on its first passed check", async (t) => {
  const first = await listenTcp();
  const late = await listenTcp();
  const pool = new Pool("grow", [{ id: "first", host: "127.0.0.1", port: portOf(first) }], {
    algorithm: "rr",
  });
  const config = healthConfig({ type: "tcp", interval: 20, timeout: 1000, rise: 3, fall: 3 });
  const health = startPoolHealth(pool, config, silentLogger);
  t.after(async () => {
    health.stop();
    pool.close();
    await Promise.all([closeServer(first), closeServer(late)]);
  });
  const transitions: string[] = [];
  pool.onEvent((event) => {
    if (event.type === "health") transitions.push(`${event.backend.id} ${event.health}`);
  });

  const added = pool.add({ id: "late", host: "127.0.0.1", port: portOf(late) });
  assert.equal(added.health, "down", "not used before it has answered once");
  assert.equal(pool.pick()?.id, "first");
  await waitFor("late up", () => added.health === "up");
  assert.equal(health.backend("late")?.checks, 1, "one pass is enough for a new backend");

  // A new backend at a dead address never takes traffic.
  const dead = pool.add({ id: "dead", host: "127.0.0.1", port: 1 });
  await waitFor("dead checked", () => (health.backend("dead")?.checks ?? 0) >= 2);
  assert.equal(dead.health, "down");
  assert.deepEqual(transitions, ["late down", "late up", "dead down"]);
  assert.deepEqual(
    health.backends().map((view) => view.id),
    ["first", "late", "dead"],
  );
});

test("the first check decides at once; after it, `fall` and `rise` count (HAProxy init-state)", async (t) => {
  const pool = new Pool("boot", [{ id: "dead", host: "127.0.0.1", port: 1 }], { algorithm: "rr" });
  const config = healthConfig({ type: "tcp", interval: 20, timeout: 1000, rise: 3, fall: 3 });
  const health = startPoolHealth(pool, config, silentLogger);
  t.after(() => {
    health.stop();
    pool.close();
  });
  await waitFor("down", () => pool.get("dead")?.health === "down");
  assert.equal(
    health.backend("dead")?.checks,
    1,
    "a dead backend at start leaves at its first check",
  );
});

test("a removed backend is no longer checked; a hung check does not hold up the others", async (t) => {
  const kept = await countingServer();
  const removed = await countingServer();
  const hung = await countingServer(false);
  const pool = new Pool(
    "shrink",
    [
      { id: "kept", host: "127.0.0.1", port: kept.port },
      { id: "removed", host: "127.0.0.1", port: removed.port },
      { id: "hung", host: "127.0.0.1", port: hung.port },
    ],
    { algorithm: "rr" },
  );
  const config = healthConfig({ type: "http", interval: 10, timeout: 60_000, rise: 1, fall: 1 });
  const health = startPoolHealth(pool, config, silentLogger);
  t.after(async () => {
    health.stop();
    pool.close();
    await Promise.all([kept, removed, hung].map(({ server }) => closeServer(server)));
  });
  await waitFor(
    "both answering backends checked",
    () => kept.hits.count >= 2 && removed.hits.count >= 2,
  );
  assert.equal(hung.hits.count, 1, "the hung backend's single check is still waiting");

  pool.remove("removed");
  // A check sent just before the removal may still reach the server: let the kept backend
  // be checked a few times first, then the removed one must get nothing more.
  let keptHits = kept.hits.count;
  await waitFor("more checks of the kept backend", () => kept.hits.count >= keptHits + 5);
  const removedHits = removed.hits.count;
  keptHits = kept.hits.count;
  await waitFor("more checks of the kept backend", () => kept.hits.count >= keptHits + 5);
  assert.equal(removed.hits.count, removedHits);
  assert.equal(health.backend("removed"), undefined);
  assert.equal(hung.hits.count, 1);
  assert.equal(health.backend("hung")?.checks, 0);
});

test("update refuses a bad config and keeps the running one; stop can restore backends", async (t) => {
  const pool = new Pool("stop", [{ id: "gone", host: "127.0.0.1", port: 1 }], { algorithm: "rr" });
  const config = healthConfig({ type: "tcp", interval: 10, timeout: 1000, rise: 1, fall: 1 });
  const health = startPoolHealth(pool, config, silentLogger);
  t.after(() => {
    health.stop();
    pool.close();
  });
  await waitFor("down", () => pool.get("gone")?.health === "down");
  assert.throws(() =>
    health.update({ ...healthConfig({ type: "send-expect", expect: "x" }), expect: "(" }),
  );
  const checks = health.backend("gone")!.checks;
  await waitFor(
    "checks continue under the old config",
    () => health.backend("gone")!.checks > checks,
  );
  health.stop({ restoreUp: true });
  assert.equal(pool.get("gone")?.health, "up", "without checks nothing would bring it back");
  assert.deepEqual(health.backends(), []);
});
