/**
 * bounded follows Mirrokni, Thorup and Zadimoghaddam, "Consistent Hashing with Bounded
 * Loads" (SODA 2018): with m current assignments and n backends no backend takes more than
 * ceil(c × (m + 1) / n), the new assignment counted; a key walks the ring past full backends.
 */
import assert from "node:assert/strict";
import { test } from "node:test";
import { boundedLoad } from "../../src/balancer/bounded-load.js";
import { consistentHashRing } from "../../src/balancer/consistent-hash-ring.js";
import type { Backend, BalancerOptions } from "../../src/balancer/types.js";
import { makeBackends, seededRandom, type TestBackend } from "./fixtures.js";
import { churn } from "./hash-fixtures.js";

function load(backend: Backend): number {
  return backend.active + backend.inactive;
}

/** Scripted arrivals and departures; asserts the cap at every assignment. */
function runSequence(weights: number[], options: BalancerOptions, steps: number): TestBackend[] {
  const backends = makeBackends(weights);
  const balancer = boundedLoad.create(options);
  balancer.update(backends);
  const random = seededRandom(11);
  const c = options.loadFactor ?? 1.25;
  const totalWeight = weights.reduce((a, b) => a + b, 0);
  for (let step = 0; step < steps; step++) {
    // A hot key for a third of the arrivals, to press against the bound.
    const key = random() < 0.33 ? "hot" : `client-${Math.floor(random() * 1000)}`;
    const m = backends.reduce((sum, b) => sum + load(b), 0);
    const chosen = balancer.pick({ now: step, random, key }) as TestBackend;
    assert.ok(chosen, "a backend is always found");
    const cap = Math.ceil((c * (m + 1) * chosen.weight) / totalWeight);
    assert.ok(
      load(chosen) + 1 <= cap,
      `step ${step}: ${chosen.id} at ${load(chosen)} + 1 > ${cap}`,
    );
    if (random() < 0.5) chosen.active++;
    else chosen.inactive++;
    // Departures: about one in three steps a random connection ends.
    if (random() < 0.35) {
      const busy = backends.filter((b) => load(b) > 0);
      const leaving = busy[Math.floor(random() * busy.length)];
      if (leaving && leaving.active > 0) leaving.active--;
      else if (leaving) leaving.inactive--;
    }
  }
  return backends;
}

test("no backend ever exceeds ceil(c × (m + 1) / n) under a scripted sequence", () => {
  const backends = runSequence([1, 1, 1, 1, 1], {}, 3000);
  assert.ok(backends.every((b) => load(b) > 0));
});

test("a tighter load factor holds too (c = 1.05)", () => {
  runSequence([1, 1, 1, 1, 1, 1, 1], { loadFactor: 1.05 }, 3000);
});

test("with weights the cap scales with the weight share", () => {
  runSequence([1, 2, 4], { loadFactor: 1.25 }, 3000);
});

test("without load the mapping is the consistent hash ring's", () => {
  const backends = makeBackends([1, 1, 1, 1]);
  const bounded = boundedLoad.create();
  const ring = consistentHashRing.create();
  bounded.update(backends);
  ring.update(backends);
  const random = seededRandom(1);
  for (let i = 0; i < 1000; i++) {
    const key = `k${i}`;
    assert.equal(bounded.pick({ now: 0, random, key }), ring.pick({ now: 0, random, key }));
  }
});

test("a key moves off its backend only when that backend is full", () => {
  const backends = makeBackends([1, 1, 1, 1]);
  const balancer = boundedLoad.create({ loadFactor: 1.25 });
  balancer.update(backends);
  const random = seededRandom(1);
  const home = balancer.pick({ now: 0, random, key: "k" }) as TestBackend;
  for (const b of backends) b.active = 4; // m = 16, cap = ceil(1.25 × 17 / 4) = 6
  home.active = 5;
  assert.equal(balancer.pick({ now: 0, random, key: "k" }), home, "5 + 1 <= 6");
  home.active = 6; // m = 18, cap = ceil(1.25 × 19 / 4) = 6: full
  const moved = balancer.pick({ now: 0, random, key: "k" });
  assert.ok(moved && moved !== home);
});

test("copes with an empty pool and with membership changes at any time", () => {
  assert.ok(churn(boundedLoad) > 0);
});
