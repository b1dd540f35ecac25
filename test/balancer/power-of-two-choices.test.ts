/**
 * p2c after Mitzenmacher, "The power of two choices in randomized load balancing" (2001):
 * two distinct random backends, the one with fewer in-flight requests per weight wins.
 */
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { powerOfTwoChoices } from "../../src/balancer/power-of-two-choices.js";
import type { Balancer } from "../../src/balancer/types.js";
import { makeBackends, makeContext, type TestBackend } from "./fixtures.js";

/**
 * Ticks of a queueing system: each tick `arrivals` requests are picked and each stays in
 * flight for its backend's service time in ticks. Returns the picks per backend.
 */
function simulate(
  balancer: Balancer,
  backends: TestBackend[],
  serviceTicks: number[],
  ticks: number,
  arrivals: number,
  seed: number,
): number[] {
  const context = makeContext(seed);
  const picks = backends.map(() => 0);
  const finishing: TestBackend[][] = [];
  for (let tick = 0; tick < ticks; tick++) {
    for (const done of finishing[tick] ?? []) done.active--;
    for (let i = 0; i < arrivals; i++) {
      const picked = balancer.pick(context) as TestBackend;
      const index = backends.indexOf(picked);
      picks[index]++;
      picked.active++;
      const end = tick + serviceTicks[index];
      if (finishing[end] === undefined) finishing[end] = [];
      finishing[end].push(picked);
    }
  }
  for (const backend of backends) backend.active = 0;
  return picks;
}

describe("p2c: power of two choices", () => {
  it("takes the draw with fewer in-flight per weight, compared by cross-multiplication", () => {
    const backends = makeBackends([1, 3]);
    const balancer = powerOfTwoChoices.create();
    balancer.update(backends);
    backends[0].active = 1;
    backends[1].active = 2;
    // Two backends: both are always drawn, so the result does not depend on the order.
    for (let seed = 1; seed < 20; seed++)
      assert.equal(balancer.pick(makeContext(seed)), backends[1]);
    backends[1].active = 3;
    const seen = new Set<string>();
    for (let seed = 1; seed < 40; seed++) seen.add(balancer.pick(makeContext(seed))?.id ?? "-");
    assert.deepEqual([...seen].sort(), ["b0", "b1"], "1*3 = 3*1 is a tie: the first draw wins");
  });

  it("sends less to a slow backend, and its share again once it recovers", () => {
    const backends = makeBackends([1, 1, 1, 1]);
    const balancer = powerOfTwoChoices.create();
    balancer.update(backends);
    const slow = simulate(balancer, backends, [20, 2, 2, 2], 2000, 2, 31);
    const slowShare = slow[0] / slow.reduce((a, b) => a + b, 0);
    assert.ok(slowShare < 0.15, `slow backend share ${slowShare}`);
    const recovered = simulate(balancer, backends, [2, 2, 2, 2], 2000, 2, 32);
    const recoveredShare = recovered[0] / recovered.reduce((a, b) => a + b, 0);
    assert.ok(recoveredShare > 0.2, `recovered backend share ${recoveredShare}`);
  });
});
