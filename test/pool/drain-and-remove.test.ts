/** Draining stops new work at once; with `remove`, the backend leaves when its last lease ends. */
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { pickIds, scriptedPool, specs } from "./helpers.js";

describe("drain", () => {
  it("a draining backend gets no new picks but keeps its open leases", () => {
    const { pool } = scriptedPool(specs([1, 1]), { algorithm: "rr" });
    const lease = pool.take(pool.get("a")!);
    lease.established();
    pool.drain("a");
    assert.deepEqual(pickIds(pool, 4), ["b", "b", "b", "b"]);
    assert.equal(pool.get("a")!.active, 1);
    lease.release({ ok: true });
    assert.ok(pool.get("a"), "without remove the backend stays, drained");
    pool.close();
  });

  it("with remove, the backend leaves when the last lease ends, not before", () => {
    const { pool } = scriptedPool(specs([1, 1]), { algorithm: "rr" });
    const removed: string[] = [];
    pool.onEvent((event) => {
      if (event.type === "removed") removed.push(event.backend.id);
    });
    const first = pool.take(pool.get("a")!);
    const second = pool.take(pool.get("a")!);
    first.established();
    pool.drain("a", { remove: true });
    first.release({ ok: true });
    assert.ok(pool.get("a"), "one lease is still open");
    assert.deepEqual(removed, []);
    second.release({ ok: false }); // released while still opening
    assert.equal(pool.get("a"), undefined);
    assert.deepEqual(removed, ["a"]);
    second.release({ ok: false });
    assert.deepEqual(removed, ["a"], "a second release removes nothing more");
    assert.deepEqual(pickIds(pool, 2), ["b", "b"]);
    pool.close();
  });

  it("with remove and no open lease, the backend leaves at once", () => {
    const { pool } = scriptedPool(specs([1, 1]));
    assert.equal(pool.drain("a", { remove: true }), true);
    assert.equal(pool.get("a"), undefined);
    pool.close();
  });

  it("enabling a draining backend cancels the pending removal", () => {
    const { pool } = scriptedPool(specs([1, 1]), { algorithm: "rr" });
    const lease = pool.take(pool.get("a")!);
    pool.drain("a", { remove: true });
    pool.setEnabled("a", true);
    lease.release({ ok: true });
    assert.ok(pool.get("a"), "still a member");
    assert.ok(pickIds(pool, 4).includes("a"), "and picked again");
    pool.close();
  });
});
