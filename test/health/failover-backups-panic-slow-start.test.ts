/**
 * Failover as the health checks drive it: backups take over when checks take every primary
 * down; the panic threshold never sends traffic to dead primaries while a backup is up; a
 * backend that checks bring back ramps its weight (slow start).
 */
import assert from "node:assert/strict";
import type { Server } from "node:net";
import { test } from "node:test";
import { startPoolHealth } from "../../src/health/index.js";
import { silentLogger } from "../../src/log.js";
import { Pool } from "../../src/pool/pool.js";
import { waitFor } from "../support/wait.js";
import { closeServer, healthConfig, listenTcp, portOf } from "./helpers.js";

function pickIds(pool: Pool, count: number): string[] {
  const ids: string[] = [];
  for (let i = 0; i < count; i++) ids.push(pool.pick()?.id ?? "none");
  return ids;
}

test("a backup takes over when checks take every primary down, and hands back", async (t) => {
  const servers: Server[] = [await listenTcp(), await listenTcp(), await listenTcp()];
  const [a, b, spare] = servers.map(portOf);
  const pool = new Pool(
    "ha",
    [
      { id: "a", host: "127.0.0.1", port: a },
      { id: "b", host: "127.0.0.1", port: b },
      { id: "spare", host: "127.0.0.1", port: spare, backup: true },
    ],
    { algorithm: "rr", panicThresholdPercent: 50 },
  );
  const config = healthConfig({ type: "tcp", interval: 15, timeout: 1000, rise: 1, fall: 1 });
  const health = startPoolHealth(pool, config, silentLogger);
  t.after(async () => {
    health.stop();
    pool.close();
    await Promise.all(servers.map(closeServer));
  });
  assert.deepEqual(new Set(pickIds(pool, 6)), new Set(["a", "b"]));

  await closeServer(servers[0]);
  await waitFor("a down", () => pool.get("a")?.health === "down");
  // 50% healthy is not below the threshold: b alone, and the backup stays idle.
  assert.deepEqual(pickIds(pool, 4), ["b", "b", "b", "b"]);

  await closeServer(servers[1]);
  await waitFor("b down", () => pool.get("b")?.health === "down");
  // Every primary is dead: panic must not spread over them while a backup is up.
  assert.deepEqual(pickIds(pool, 4), ["spare", "spare", "spare", "spare"]);

  servers[0] = await listenTcp(a);
  await waitFor("a back", () => pool.get("a")?.health === "up");
  // 1 of 2 healthy (50%) is not panic: the primary takes the traffic back.
  assert.deepEqual(pickIds(pool, 4), ["a", "a", "a", "a"]);
});

test("below the panic threshold with no backup, traffic spreads over every primary", () => {
  const pool = new Pool(
    "panic",
    ["a", "b", "c", "d"].map((id, i) => ({ id, host: "127.0.0.1", port: 9000 + i })),
    { algorithm: "rr", panicThresholdPercent: 50 },
  );
  for (const id of ["a", "b", "c"]) pool.setHealth(id, "down", "test");
  assert.deepEqual(new Set(pickIds(pool, 8)), new Set(["a", "b", "c", "d"]));
  pool.close();
});

test("a backend brought back by its checks ramps its weight over slow_start", async (t) => {
  let now = 1_000;
  const steadyServer = await listenTcp();
  let server = await listenTcp();
  const port = portOf(server);
  const pool = new Pool(
    "slow",
    [
      { id: "steady", host: "127.0.0.1", port: portOf(steadyServer), weight: 10 },
      { id: "back", host: "127.0.0.1", port, weight: 10 },
    ],
    { algorithm: "rr", slowStartMs: 10_000, clock: () => now },
  );
  const config = healthConfig({ type: "tcp", interval: 15, timeout: 1000, rise: 1, fall: 1 });
  const health = startPoolHealth(pool, config, silentLogger);
  t.after(async () => {
    health.stop();
    pool.close();
    await Promise.all([closeServer(server), closeServer(steadyServer)]);
  });
  const back = pool.get("back")!;
  assert.equal(back.weight, 10, "a backend present at start has its full weight");

  await closeServer(server);
  await waitFor("down", () => back.health === "down");
  now += 60_000;
  server = await listenTcp(port);
  await waitFor("up", () => back.health === "up");
  assert.ok(back.weight > 0 && back.weight < 1, `just back: ${back.weight}`);
  const ramp: number[] = [];
  for (let i = 0; i < 4; i++) {
    now += 2_500;
    pool.refresh();
    ramp.push(back.weight);
  }
  assert.deepEqual(ramp, [2.5, 5, 7.5, 10]);
  assert.equal(pool.get("steady")!.weight, 10);
});
