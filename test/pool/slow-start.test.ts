/** Slow start (HAProxy `slowstart`): a backend that comes up ramps its effective weight. */
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { scriptedPool, specs } from "./helpers.js";

describe("slow start", () => {
  it("ramps the effective weight linearly over the slow-start time after recovery", () => {
    const { pool, clock } = scriptedPool(specs([10, 10]), { slowStartMs: 10_000 });
    const a = pool.get("a")!;
    assert.equal(a.weight, 10, "backends present at start take their full weight");
    pool.setHealth("a", "down");
    clock.advance(5_000);
    pool.setHealth("a", "up");
    assert.ok(a.weight > 0 && a.weight < 1, `just up: a small weight (${a.weight})`);
    const seen: number[] = [];
    for (let step = 0; step < 5; step++) {
      clock.advance(2_500);
      pool.refresh();
      seen.push(a.weight);
    }
    assert.deepEqual(seen, [2.5, 5, 7.5, 10, 10]);
    pool.close();
  });

  it("a ramping backend gets a share of picks that grows with its weight", () => {
    const { pool, clock } = scriptedPool(specs([10, 10]), {
      slowStartMs: 10_000,
      algorithm: "wrr",
    });
    pool.setHealth("a", "down");
    pool.setHealth("a", "up");
    const share = () => {
      let hits = 0;
      for (let i = 0; i < 1_000; i++) if (pool.pick()?.id === "a") hits++;
      return hits / 1_000;
    };
    clock.advance(2_500);
    pool.refresh();
    const early = share();
    clock.advance(7_500);
    pool.refresh();
    const late = share();
    assert.ok(early < 0.25, `at a quarter of the ramp a gets ${early}`);
    assert.ok(late > 0.45, `after the ramp a gets ${late}`);
    pool.close();
  });

  it("applies to a backend added at run time, and not at all when slow start is off", () => {
    const { pool, clock } = scriptedPool(specs([4]), { slowStartMs: 1_000 });
    const added = pool.add({ id: "new", host: "127.0.0.1", port: 9200, weight: 4 });
    clock.advance(500);
    pool.refresh();
    assert.equal(added.weight, 2);
    pool.close();
    const off = scriptedPool(specs([4])).pool;
    const plain = off.add({ id: "new", host: "127.0.0.1", port: 9200, weight: 4 });
    assert.equal(plain.weight, 4);
    off.close();
  });
});
