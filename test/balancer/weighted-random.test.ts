/**
 * wrandom: probability weight / total through Vose's alias method ("A linear algorithm for
 * generating random numbers with a given distribution", IEEE TSE 1991). The table must
 * encode the weights exactly, and rejection of backends that dropped out must keep the
 * distribution over the others.
 */
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { AliasTable } from "../../src/balancer/common/alias-table.js";
import { weightedRandom } from "../../src/balancer/weighted-random.js";
import { countById, makeBackends, makeContext, seededRandom } from "./fixtures.js";

/** The probability of each index that the table's columns add up to. */
function encodedProbabilities(table: AliasTable, n: number): number[] {
  const inner = table as unknown as { probability: Float64Array; alias: Int32Array };
  const p = new Array<number>(n).fill(0);
  for (let i = 0; i < n; i++) {
    p[i] += inner.probability[i] / n;
    p[inner.alias[i]] += (1 - inner.probability[i]) / n;
  }
  return p;
}

describe("wrandom: weighted random by the alias method", () => {
  it("builds a table that encodes every weight exactly", () => {
    const random = seededRandom(21);
    for (let round = 0; round < 200; round++) {
      const n = 1 + Math.floor(random() * 40);
      const weights = Array.from({ length: n }, () => (random() < 0.2 ? 0 : random() * 100));
      if (!weights.some((w) => w > 0)) weights[0] = 1;
      const total = weights.reduce((a, b) => a + b, 0);
      const table = new AliasTable();
      table.build(weights);
      const p = encodedProbabilities(table, n);
      for (let i = 0; i < n; i++) {
        assert.ok(Math.abs(p[i] - weights[i] / total) < 1e-9, `round ${round} index ${i}`);
      }
    }
  });

  it("follows the weights over many picks and never picks weight 0", () => {
    const weights = [1, 7, 0, 2.5, 12];
    const backends = makeBackends(weights);
    const balancer = weightedRandom.create();
    balancer.update(backends);
    const context = makeContext(22);
    const picks = 200_000;
    const counts = countById(Array.from({ length: picks }, () => balancer.pick(context)));
    assert.equal(counts.get("b2"), undefined);
    const total = weights.reduce((a, b) => a + b, 0);
    weights.forEach((weight, i) => {
      const share = (counts.get(`b${i}`) ?? 0) / picks;
      assert.ok(Math.abs(share - weight / total) < 0.005, `b${i}: ${share}`);
    });
  });

  it("keeps the proportions among the rest when the heaviest backend drops out", () => {
    const backends = makeBackends([1, 3, 96]);
    const balancer = weightedRandom.create();
    balancer.update(backends);
    backends[2].available = false;
    const context = makeContext(23);
    const counts = countById(Array.from({ length: 40_000 }, () => balancer.pick(context)));
    assert.equal(counts.get("b2"), undefined);
    const share = (counts.get("b1") ?? 0) / 40_000;
    assert.ok(Math.abs(share - 0.75) < 0.015, `b1: ${share}`);
  });
});
