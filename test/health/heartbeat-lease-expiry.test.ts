import assert from "node:assert/strict";
import { test } from "node:test";
import { HeartbeatError, HeartbeatLeases } from "../../src/health/index.js";
import { Pool } from "../../src/pool/pool.js";
import { waitFor } from "../support/wait.js";

function setup() {
  const clock = { now: 1_000_000 };
  const pool = new Pool("api", [{ id: "configured", host: "127.0.0.1", port: 8000 }], {
    algorithm: "rr",
  });
  const pools = new Map([["api", pool]]);
  const leases = new HeartbeatLeases(pools, { clock: () => clock.now });
  return { clock, pool, pools, leases };
}

test("a lease not renewed within its TTL removes the backend; a renewed one stays", () => {
  const { clock, pool, leases } = setup();
  const renewed = leases.register("api", { host: "127.0.0.1", port: 8001, ttlMs: 1_000 });
  const silent = leases.register("api", { host: "127.0.0.1", port: 8002, ttlMs: 1_000, weight: 3 });
  assert.deepEqual(renewed, { id: "127.0.0.1:8001", expiresAt: clock.now + 1_000 });
  assert.equal(pool.get("127.0.0.1:8002")?.source, "registry");
  assert.equal(pool.get("127.0.0.1:8002")?.configuredWeight, 3);

  clock.now += 900;
  assert.equal(leases.renew("api", renewed.id), true);
  assert.equal(leases.sweep(), 0);
  clock.now += 100;
  assert.equal(leases.sweep(), 1, "the silent lease ran out");
  assert.equal(pool.get(silent.id), undefined);
  assert.ok(pool.get(renewed.id), "renewed at 900 ms, it lives until 1900 ms");
  clock.now += 899;
  assert.equal(leases.sweep(), 0);
  clock.now += 1;
  assert.equal(leases.sweep(), 1);
  assert.equal(pool.get(renewed.id), undefined);
  assert.deepEqual(
    pool.backends.map((b) => b.id),
    ["configured"],
    "configured backends are never touched",
  );
  assert.equal(leases.renew("api", renewed.id), false, "an expired lease cannot be renewed");
  leases.stop();
  pool.close();
});

test("an expired lease drains: in-flight work finishes before the backend leaves", () => {
  const { clock, pool, leases } = setup();
  const { id } = leases.register("api", { host: "127.0.0.1", port: 8003, ttlMs: 500 });
  const lease = pool.take(pool.get(id)!);
  clock.now += 500;
  // Renewing at or after the deadline is too late, as after a collection.
  assert.equal(leases.renew("api", id), false);
  assert.equal(pool.get(id)?.draining, true, "no new work while it drains");
  lease.release({ ok: true });
  assert.equal(pool.get(id), undefined);
  leases.stop();
  pool.close();
});

test("registering again revives, re-addresses or reweights; deregister drains it out", () => {
  const { clock, pool, leases } = setup();
  leases.register("api", { id: "w1", host: "127.0.0.1", port: 8004, ttlMs: 500 });
  const held = pool.take(pool.get("w1")!);
  clock.now += 600;
  leases.sweep();
  assert.equal(pool.get("w1")?.draining, true);
  leases.register("api", { id: "w1", host: "127.0.0.1", port: 8004, ttlMs: 500, weight: 5 });
  assert.equal(pool.get("w1")?.draining, false, "a late instance comes back as it is");
  assert.equal(pool.get("w1")?.configuredWeight, 5);
  held.release({ ok: true });
  assert.ok(pool.get("w1"), "no longer removed when its last request ends");

  leases.register("api", { id: "w1", host: "127.0.0.1", port: 8005, ttlMs: 500 });
  assert.equal(pool.get("w1")?.port, 8005, "same name, new address: the instance moved");
  assert.equal(leases.list("api")[0].renewals, 1, "a new lease after the expiry, renewed once");
  assert.equal(leases.deregister("api", "w1"), true);
  assert.equal(pool.get("w1"), undefined);
  assert.deepEqual(leases.list(), []);
  assert.equal(leases.deregister("api", "w1"), false);
  leases.stop();
  pool.close();
});

test("bad registrations are refused with a reason", () => {
  const { pool, leases } = setup();
  const refuse = (
    poolName: string,
    registration: Parameters<typeof leases.register>[1],
    kind: string,
  ) =>
    assert.throws(
      () => leases.register(poolName, registration),
      (error: unknown) => error instanceof HeartbeatError && error.kind === kind,
    );
  refuse("nope", { host: "127.0.0.1", port: 1, ttlMs: 1000 }, "not-found");
  refuse("api", { id: "configured", host: "127.0.0.1", port: 8000, ttlMs: 1000 }, "conflict");
  refuse("api", { host: "127.0.0.1", port: 1, ttlMs: 0 }, "invalid");
  refuse("api", { host: "127.0.0.1", port: 70_000, ttlMs: 1000 }, "invalid");
  assert.equal(pool.backends.length, 1);
  leases.stop();
  pool.close();
});

test("on real timers, the lease that stops renewing is collected and the other stays", async (t) => {
  const pool = new Pool("live", [], { algorithm: "rr" });
  const leases = new HeartbeatLeases(new Map([["live", pool]]), { sweepIntervalMs: 10 });
  // The TTL leaves a busy machine's event loop room to stall between two heartbeats.
  const ttlMs = 1000;
  const a = leases.register("live", { host: "127.0.0.1", port: 9001, ttlMs });
  const b = leases.register("live", { host: "127.0.0.1", port: 9002, ttlMs });
  // The heartbeat of `a`: renew well inside the TTL.
  const heartbeat = setInterval(() => leases.renew("live", a.id), 50);
  t.after(() => {
    clearInterval(heartbeat);
    leases.stop();
    pool.close();
  });
  const removed: string[] = [];
  pool.onEvent((event) => {
    if (event.type === "removed") removed.push(event.backend.id);
  });
  await waitFor("b to expire", () => pool.get(b.id) === undefined);
  // Another TTL later, `a` has outlived its first TTL twice: only its renewals keep it.
  await new Promise((resolve) => setTimeout(resolve, ttlMs));
  assert.deepEqual(removed, [b.id]);
  assert.ok(pool.get(a.id), "the renewed backend stays");
  assert.deepEqual(
    leases.list("live").map((lease) => lease.id),
    [a.id],
  );
});
