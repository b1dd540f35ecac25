/**
 * A weight raised while a backend is within its slow-start window (added quiesced with
 * weight 0, then given a weight; or a dynamic-weights factor change) ramps up to the full
 * weight by itself, as any other ramp does, instead of staying at the fraction it had when
 * the weight was set.
 */
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { setTimeout as sleep } from "node:timers/promises";
import { scriptedPool, specs } from "./helpers.js";

/** Waits (bounded) for the pool's own refresh timer to bring the weight to `expected`. */
async function weightReaches(read: () => number, expected: number): Promise<number> {
  for (let i = 0; i < 60 && read() !== expected; i++) await sleep(50);
  return read();
}

describe("weight raised during slow start", () => {
  it("a backend added with weight 0 and given a weight ramps to it without another event", async () => {
    // Refresh steps are max(100 ms, slowStartMs / 20) of real time; the ramp is on the scripted clock.
    const { pool, clock } = scriptedPool(specs([4]), { slowStartMs: 1_000 });
    try {
      const added = pool.add({ id: "new", host: "127.0.0.1", port: 9200, weight: 0 });
      assert.equal(added.weight, 0);
      clock.advance(250);
      pool.setWeight("new", 8);
      assert.equal(added.weight, 2, "a quarter into the ramp: a quarter of the weight");
      clock.advance(1_000);
      assert.equal(await weightReaches(() => added.weight, 8), 8);
    } finally {
      pool.close();
    }
  });

  it("a weight factor set during the ramp of a quiesced backend ramps too", async () => {
    const { pool, clock } = scriptedPool(specs([4]), { slowStartMs: 1_000 });
    try {
      const added = pool.add({ id: "new", host: "127.0.0.1", port: 9200, weight: 0 });
      clock.advance(500);
      pool.setWeight("new", 4);
      pool.setWeightFactor("new", 0.5);
      assert.equal(added.weight, 1, "half the ramp of 4 × 0.5");
      clock.advance(1_000);
      assert.equal(await weightReaches(() => added.weight, 2), 2);
    } finally {
      pool.close();
    }
  });
});
