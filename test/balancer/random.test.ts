/** random: a uniform choice among the schedulable backends, staying uniform when some drop out. */
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { random } from "../../src/balancer/random.js";
import { countById, makeBackends, makeContext } from "./fixtures.js";

describe("random: uniform choice", () => {
  it("picks every schedulable backend about equally, whatever the weights", () => {
    const backends = makeBackends([1, 9, 0, 3]);
    const balancer = random.create();
    balancer.update(backends);
    const context = makeContext(11);
    const counts = countById(Array.from({ length: 30_000 }, () => balancer.pick(context)));
    assert.equal(counts.get("b2"), undefined);
    for (const id of ["b0", "b1", "b3"]) {
      assert.ok(
        Math.abs((counts.get(id) ?? 0) / 30_000 - 1 / 3) < 0.015,
        `${id}: ${counts.get(id)}`,
      );
    }
  });

  it("stays uniform over the rest when backends become unavailable between updates", () => {
    const backends = makeBackends([1, 1, 1, 1, 1, 1, 1, 1]);
    const balancer = random.create();
    balancer.update(backends);
    // Most of the list drops out: rejection alone would often fail, the fallback counts.
    for (let i = 0; i < 6; i++) backends[i].available = false;
    const context = makeContext(12);
    const counts = countById(Array.from({ length: 20_000 }, () => balancer.pick(context)));
    assert.deepEqual([...counts.keys()].sort(), ["b6", "b7"]);
    assert.ok(Math.abs((counts.get("b6") ?? 0) / 20_000 - 0.5) < 0.02, `b6: ${counts.get("b6")}`);
  });
});
