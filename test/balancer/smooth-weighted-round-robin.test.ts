/**
 * wrr follows nginx's smooth weighted round robin (ngx_http_upstream_round_robin.c,
 * ngx_http_upstream_get_peer): add each peer's weight to its current, take the largest
 * (first on ties), subtract the total from it. The fast path (a recorded cycle) must give
 * exactly the sequence of that direct algorithm, including across updates.
 */
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { smoothWeightedRoundRobin } from "../../src/balancer/smooth-weighted-round-robin.js";
import type { Backend, Balancer } from "../../src/balancer/types.js";
import { makeBackends, makeContext, seededRandom, type TestBackend } from "./fixtures.js";

/** nginx's algorithm written plainly: `current` kept per backend across updates. */
class DirectSmoothWeighted {
  private readonly current = new Map<Backend, number>();
  private backends: readonly Backend[] = [];

  update(backends: readonly Backend[]): void {
    this.backends = backends.slice();
  }

  pick(): Backend | undefined {
    let best: Backend | undefined;
    let bestCurrent = 0;
    let total = 0;
    for (const backend of this.backends) {
      if (!backend.available || backend.weight <= 0) continue;
      const current = (this.current.get(backend) ?? 0) + backend.weight;
      this.current.set(backend, current);
      total += backend.weight;
      if (best === undefined || current > bestCurrent) {
        best = backend;
        bestCurrent = current;
      }
    }
    if (best !== undefined) this.current.set(best, bestCurrent - total);
    return best;
  }
}

/** True while the balancer walks its recorded cycle (its fast path). */
function usesCycle(balancer: Balancer): boolean {
  return (balancer as unknown as { mode: number }).mode === 2;
}

function ids(balancer: Balancer, count: number): string {
  const context = makeContext();
  const out: string[] = [];
  for (let i = 0; i < count; i++) out.push(balancer.pick(context)?.id ?? "-");
  return out.join(" ");
}

describe("wrr: nginx smooth weighted round robin", () => {
  it("gives a a b a c a a for weights 5, 1, 1, and repeats the cycle", () => {
    const balancer = smoothWeightedRoundRobin.create();
    const [a, b, c] = makeBackends([5, 1, 1]);
    a.id = "a";
    b.id = "b";
    c.id = "c";
    balancer.update([a, b, c]);
    const cycle = "a a b a c a a";
    assert.equal(ids(balancer, 21), `${cycle} ${cycle} ${cycle}`);
  });

  it("interleaves other weights as nginx does", () => {
    const cases: [number[], string][] = [
      [[1, 1, 1], "b0 b1 b2 b0 b1 b2"],
      [[2, 1], "b0 b1 b0 b0 b1 b0"],
      [[4, 3, 2], "b0 b1 b2 b0 b1 b0 b2 b1 b0"],
      [[3, 0, 1], "b0 b0 b2 b0 b0 b0 b2 b0"],
    ];
    for (const [weights, expected] of cases) {
      const balancer = smoothWeightedRoundRobin.create();
      balancer.update(makeBackends(weights));
      assert.equal(ids(balancer, expected.split(" ").length), expected, `weights ${weights}`);
    }
  });

  it("matches the direct algorithm over many random weight sets and updates", () => {
    const random = seededRandom(42);
    let cyclePicks = 0;
    let totalPicks = 0;
    for (let round = 0; round < 60; round++) {
      const size = 1 + Math.floor(random() * 12);
      let backends = makeBackends(
        Array.from({ length: size }, () => Math.floor(random() * 10)),
        `r${round}-`,
      );
      const fast = smoothWeightedRoundRobin.create();
      const direct = new DirectSmoothWeighted();
      fast.update(backends);
      direct.update(backends);
      const context = makeContext();
      for (let step = 0; step < 40; step++) {
        const picks = Math.floor(random() * 120);
        for (let i = 0; i < picks; i++) {
          const expected = direct.pick();
          if (usesCycle(fast)) cyclePicks++;
          assert.equal(fast.pick(context), expected, `round ${round} step ${step} pick ${i}`);
          totalPicks++;
        }
        backends = mutate(backends, random, `r${round}s${step}-`);
        fast.update(backends);
        direct.update(backends);
      }
    }
    // The comparison is only worth something if the fast path ran for much of it.
    assert.ok(cyclePicks > totalPicks / 5, `${cyclePicks} of ${totalPicks} picks from the cycle`);
  });

  it("reaches the fast path after updates and stays exact with fractional weights", () => {
    const backends = makeBackends([0.5, 1.25, 3]);
    const fast = smoothWeightedRoundRobin.create();
    const direct = new DirectSmoothWeighted();
    fast.update(backends);
    direct.update(backends);
    const context = makeContext();
    for (let i = 0; i < 500; i++) assert.equal(fast.pick(context), direct.pick());
    // Slow start ends: integer weights again, and the counts per cycle follow them.
    backends[0].weight = 1;
    backends[1].weight = 2;
    fast.update(backends);
    direct.update(backends);
    for (let i = 0; i < 600; i++) fast.pick(context);
    const counts = new Map<string, number>();
    for (let i = 0; i < 6 * 100; i++) {
      const id = fast.pick(context)?.id ?? "-";
      counts.set(id, (counts.get(id) ?? 0) + 1);
    }
    assert.deepEqual(Object.fromEntries(counts), { b0: 100, b1: 200, b2: 300 });
  });

  it("skips a backend that became unavailable after the cycle was recorded", () => {
    const backends = makeBackends([5, 1, 1]);
    const balancer = smoothWeightedRoundRobin.create();
    balancer.update(backends);
    const context = makeContext();
    for (let i = 0; i < 70; i++) balancer.pick(context);
    backends[0].available = false;
    const seen = new Set<string>();
    for (let i = 0; i < 50; i++) {
      const picked = balancer.pick(context);
      assert.ok(picked !== undefined && picked !== backends[0]);
      seen.add(picked.id);
    }
    assert.deepEqual([...seen].sort(), ["b1", "b2"]);
    backends[1].available = false;
    backends[2].available = false;
    assert.equal(balancer.pick(context), undefined);
  });
});

/** A random change: weights, availability, an added, removed or reordered backend. */
function mutate(list: TestBackend[], random: () => number, prefix: string): TestBackend[] {
  const next = list.slice();
  const roll = random();
  if (roll < 0.25 && next.length > 0) {
    next[Math.floor(random() * next.length)].weight = Math.floor(random() * 10);
  } else if (roll < 0.45 && next.length > 0) {
    const backend = next[Math.floor(random() * next.length)];
    backend.available = !backend.available;
  } else if (roll < 0.6) {
    next.splice(
      Math.floor(random() * (next.length + 1)),
      0,
      ...makeBackends([1 + Math.floor(random() * 9)], prefix),
    );
  } else if (roll < 0.75 && next.length > 0) {
    next.splice(Math.floor(random() * next.length), 1);
  } else if (roll < 0.85) {
    next.reverse();
  }
  // Otherwise an update with nothing changed, as the pool sends on unrelated events.
  return next;
}
