/** Suspension (nginx `fail_timeout`): a suspended backend takes no new work until its time ends. */
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { pickIds, scriptedPool, specs } from "./helpers.js";

describe("suspend and resume", () => {
  it("a suspended backend is skipped until the suspension ends, then picked again", () => {
    const { pool, clock } = scriptedPool(specs([1, 1]), { algorithm: "rr" });
    pool.suspend("a", clock.now + 10_000);
    assert.equal(pool.get("a")!.available, false);
    assert.deepEqual(pickIds(pool, 3), ["b", "b", "b"]);
    clock.advance(9_999);
    pool.refresh();
    assert.deepEqual(pickIds(pool, 2), ["b", "b"], "one ms before the end it is still out");
    clock.advance(1);
    pool.refresh();
    assert.equal(pool.get("a")!.available, true);
    assert.ok(pickIds(pool, 2).includes("a"));
    pool.close();
  });

  it("suspending until now or earlier resumes at once", () => {
    const { pool, clock } = scriptedPool(specs([1, 1]), { algorithm: "rr" });
    pool.suspend("a", clock.now + 1_000);
    pool.suspend("a", clock.now);
    assert.equal(pool.get("a")!.available, true);
    pool.close();
  });

  it("a suspension does not resurrect a backend that went down meanwhile", () => {
    const { pool, clock } = scriptedPool(specs([1, 1]), { algorithm: "rr" });
    pool.suspend("a", clock.now + 100);
    pool.setHealth("a", "down");
    clock.advance(200);
    pool.refresh();
    assert.equal(pool.get("a")!.available, false);
    assert.deepEqual(pickIds(pool, 2), ["b", "b"]);
    pool.close();
  });

  it("workers: a suspension is announced, and one learned from another worker applies here", () => {
    const a = scriptedPool(specs([1, 1]), { algorithm: "rr" });
    const b = scriptedPool(specs([1, 1]), { algorithm: "rr" });
    const announced: [string, number][] = [];
    a.pool.shareSuspensions((id, forMs) => announced.push([id, forMs]));
    b.pool.shareSuspensions((id, forMs) => announced.push([`echo of ${id}`, forMs]));
    a.pool.suspend("a", a.clock.now + 10_000);
    assert.deepEqual(announced, [["a", 10_000]]);
    for (const [id, forMs] of announced.splice(0)) b.pool.learnSuspension(id, forMs);
    assert.deepEqual(announced, [], "a learned suspension is not announced again");
    assert.deepEqual(pickIds(b.pool, 3), ["b", "b", "b"]);
    // A shorter one learned later does not cut a longer one short.
    b.pool.learnSuspension("a", 5_000);
    b.clock.advance(9_999);
    b.pool.refresh();
    assert.equal(b.pool.get("a")!.available, false);
    b.clock.advance(1);
    b.pool.refresh();
    assert.equal(b.pool.get("a")!.available, true);
    a.pool.close();
    b.pool.close();
  });

  it("workers: a learned suspension never takes out the last backend that serves", () => {
    const { pool } = scriptedPool(specs([1, 1]), { algorithm: "rr" });
    pool.setHealth("b", "down");
    pool.learnSuspension("a", 10_000);
    assert.equal(pool.get("a")!.available, true);
    assert.deepEqual(pickIds(pool, 2), ["a", "a"]);
    pool.close();
  });

  it("unknown backends are reported, not invented", () => {
    const { pool } = scriptedPool(specs([1]));
    assert.equal(pool.suspend("nope", 5), false);
    assert.equal(pool.setHealth("nope", "down"), false);
    pool.close();
  });
});
