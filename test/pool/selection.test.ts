/**
 * The shared Selection suite: what every data plane relies on when it asks a pool for
 * backends, checked for every algorithm where the algorithm matters. A selection honours a
 * pin and a persistence binding, never repeats a backend it handed out, says why when it
 * has none, and leaves every count at zero once its leases are released.
 */
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { algorithmNames } from "../../src/balancer/types.js";
import type { Lease } from "../../src/pool/lease.js";
import type { Selection } from "../../src/pool/selection.js";
import { scriptedPool, specs } from "./helpers.js";

/** Every lease the selection can give, in order (released as it goes). */
function drain(selection: Selection): { ids: string[]; reason: string } {
  const ids: string[] = [];
  for (let i = 0; i < 100; i++) {
    const next = selection.next();
    if (next.kind === "none") return { ids, reason: next.reason };
    ids.push(next.lease.backend.id);
    next.lease.release({ ok: false });
  }
  throw new Error("a selection handed out more backends than the pool has");
}

describe("Selection", () => {
  for (const algorithm of algorithmNames) {
    it(`${algorithm}: hands out every backend that can serve exactly once, then "tried"`, () => {
      const { pool } = scriptedPool(specs([3, 1, 2, 1]), { algorithm });
      for (const key of ["10.0.0.1", "10.0.0.2", "user-7", undefined]) {
        const { ids, reason } = drain(pool.select({ key }));
        // Hashing without fallback (dh, sh) offers only the bucket's backend; every other
        // algorithm offers the whole pool. Either way, never one twice.
        assert.equal(new Set(ids).size, ids.length, `${algorithm} repeated a backend: ${ids}`);
        assert.ok(ids.length >= 1, `${algorithm} offered nothing`);
        if (ids.length === 4) assert.equal(reason, "tried");
      }
      for (const backend of pool.backends) assert.equal(backend.active + backend.inactive, 0);
      pool.close();
    });
  }

  it("skips backends that cannot serve and says why when none is left", () => {
    const { pool } = scriptedPool(specs([1, 1, 1]), { algorithm: "rr" });
    pool.setHealth("a", "down");
    pool.setEnabled("b", false);
    const { ids, reason } = drain(pool.select());
    assert.deepEqual(ids, ["c"]);
    assert.equal(reason, "tried");
    pool.setHealth("c", "down");
    assert.deepEqual(drain(pool.select()), { ids: [], reason: "down" });
    pool.close();
  });

  it('an empty pool answers "empty", a pool at its connection limits "full"', () => {
    const { pool: empty } = scriptedPool([], { algorithm: "wlc" });
    assert.deepEqual(drain(empty.select()), { ids: [], reason: "empty" });
    const { pool } = scriptedPool(specs([1], { maxConnections: 1 }), { algorithm: "wlc" });
    const held = pool.select().next();
    assert.equal(held.kind, "backend");
    const next = pool.select().next();
    assert.deepEqual(next, { kind: "none", reason: "full" });
    (held as { lease: Lease }).lease.release({ ok: true });
    assert.equal(pool.select().next().kind, "backend");
    empty.close();
    pool.close();
  });

  it("honours a pinned backend first, while it is in service", () => {
    const { pool } = scriptedPool(specs([1, 1, 1]), { algorithm: "rr" });
    const c = pool.get("c")!;
    for (let i = 0; i < 5; i++) {
      const next = pool.select({ pinned: c }).next();
      assert.equal(next.kind === "backend" && next.lease.backend.id, "c");
      if (next.kind === "backend") next.lease.release({ ok: true });
    }
    const retry = pool.select({ pinned: c });
    const first = retry.next();
    const second = retry.next();
    assert.equal(first.kind === "backend" && first.lease.backend.id, "c");
    assert.ok(
      second.kind === "backend" && second.lease.backend.id !== "c",
      "a retry leaves the pin",
    );
    pool.setHealth("c", "down");
    const moved = pool.select({ pinned: c }).next();
    assert.ok(moved.kind === "backend" && moved.lease.backend.id !== "c", "a pin that is down");
    pool.close();
  });

  it("honours the client's persistence binding, rebinds on failover and lingers after end()", () => {
    const { pool, clock } = scriptedPool(specs([1, 1, 1]), {
      algorithm: "rr",
      persistenceMs: 60_000,
    });
    const first = pool.select({ client: "192.0.2.1" });
    const a = first.next();
    assert.equal(a.kind, "backend");
    const bound = (a as { lease: Lease }).lease.backend;
    for (let i = 0; i < 5; i++) {
      const again = pool.select({ client: "192.0.2.1" });
      const next = again.next();
      assert.equal(
        next.kind === "backend" && next.lease.backend,
        bound,
        "same client, same backend",
      );
      if (next.kind === "backend") next.lease.release({ ok: true });
      again.end();
    }
    // The bound backend refuses: the selection moves on and the binding follows.
    (a as { lease: Lease }).lease.release({ ok: false });
    const moved = first.next();
    assert.ok(moved.kind === "backend" && moved.lease.backend !== bound);
    const newBackend = (moved as { lease: Lease }).lease.backend;
    const later = pool.select({ client: "192.0.2.1" }).next();
    assert.equal(later.kind === "backend" && later.lease.backend, newBackend);
    if (later.kind === "backend") later.lease.release({ ok: true });
    (moved as { lease: Lease }).lease.release({ ok: true });
    first.end();
    const row = pool.persistence!.rows().find((r) => r.client === "192.0.2.1");
    assert.ok(row !== undefined && row.backend === newBackend.id);
    clock.advance(60_001);
    assert.equal(pool.persistence!.rows().length, 1, "a binding with a connection stays");
    pool.close();
  });

  it("end() releases the binding once: a connection count never goes negative", () => {
    const { pool, clock } = scriptedPool(specs([1, 1]), { algorithm: "rr", persistenceMs: 1000 });
    const selection = pool.select({ client: "192.0.2.9" });
    const next = selection.next();
    if (next.kind === "backend") next.lease.release({ ok: true });
    selection.end();
    selection.end();
    assert.equal(pool.persistence!.rows()[0].connections, 0);
    clock.advance(1001);
    pool.persistence!.sweep();
    assert.equal(pool.persistence!.rows().length, 0);
    pool.close();
  });

  it("again() offers the last backend once more while it serves (a stale keep-alive socket)", () => {
    const { pool } = scriptedPool(specs([1]), { algorithm: "rr" });
    const selection = pool.select();
    const first = selection.next();
    assert.equal(first.kind, "backend");
    (first as { lease: Lease }).lease.release({ ok: false });
    assert.deepEqual(selection.next(), { kind: "none", reason: "tried" });
    const again = selection.again();
    assert.equal(again.kind === "backend" && again.lease.backend.id, "a");
    if (again.kind === "backend") again.lease.release({ ok: true });
    pool.setHealth("a", "down");
    assert.equal(selection.again().kind, "none");
    assert.equal(pool.get("a")!.active + pool.get("a")!.inactive, 0);
    pool.close();
  });
});
