/**
 * Dynamic weights in a simulated loop: the pool's own wrr picks, a queueing model turns each
 * backend's load into latency, the latencies feed the pool's peak EWMA through real leases,
 * and `adjustWeights` runs once per simulated interval. One backend slows down for a few
 * seconds; the guard must keep that from cascading.
 */
import assert from "node:assert/strict";
import { test } from "node:test";
import {
  adjustWeights,
  type DynamicWeightOptions,
  startDynamicWeights,
} from "../../src/health/index.js";
import { Pool } from "../../src/pool/pool.js";
import { waitFor } from "../support/wait.js";

const OPTIONS: DynamicWeightOptions = { intervalMs: 1_000, floor: 0.25, ceiling: 2, maxStep: 0.1 };
const IDS = ["a", "b", "c", "d"];
/** Requests per second each backend can serve; demand is half of the total. */
const CAPACITY = 200;
const DEMAND = 400;
const BASE_LATENCY_MS = 20;

interface Second {
  factors: Record<string, number>;
  load: Record<string, number>;
}

/** Runs `seconds` of traffic; `slowness(id, second)` multiplies a backend's service time. */
function simulate(
  seconds: number,
  slowness: (id: string, second: number) => number,
  options: DynamicWeightOptions = OPTIONS,
): Second[] {
  const clock = { now: 1_000 };
  const pool = new Pool(
    "dyn",
    IDS.map((id, i) => ({ id, host: "127.0.0.1", port: 9000 + i, weight: 10 })),
    { algorithm: "wrr", clock: () => clock.now },
  );
  const history: Second[] = [];
  for (let second = 0; second < seconds; second++) {
    // First the picks of this second, then each request's latency from the load it met.
    const leases = [];
    const load: Record<string, number> = Object.fromEntries(IDS.map((id) => [id, 0]));
    for (let i = 0; i < DEMAND; i++) {
      const lease = pool.acquire()!;
      lease.established();
      load[lease.backend.id]++;
      leases.push(lease);
    }
    for (const lease of leases) {
      clock.now += 1_000 / DEMAND;
      const id = lease.backend.id;
      // M/M/1-like: latency grows as utilisation nears 1 (capped so the model stays finite).
      const utilisation = Math.min(load[id] / CAPACITY, 0.95);
      const latencyMs = (BASE_LATENCY_MS * slowness(id, second)) / (1 - utilisation);
      lease.release({ ok: true, latencyMs });
    }
    adjustWeights(pool, options, clock.now);
    history.push({
      factors: Object.fromEntries(pool.backends.map((b) => [b.id, b.weightFactor])),
      load,
    });
  }
  pool.close();
  return history;
}

test("a brief slowdown of one backend is damped, bounded and does not cascade", () => {
  const slowFrom = 10;
  const slowUntil = 13; // three slow seconds
  const history = simulate(90, (id, second) =>
    id === "c" && second >= slowFrom && second < slowUntil ? 5 : 1,
  );

  for (let s = 1; s < history.length; s++) {
    for (const id of IDS) {
      const step = Math.abs(history[s].factors[id] - history[s - 1].factors[id]);
      assert.ok(step <= OPTIONS.maxStep + 1e-9, `second ${s}: ${id} moved by ${step}`);
    }
  }
  const slowFactors = history.map((second) => second.factors.c);
  assert.ok(
    Math.min(...slowFactors) >= OPTIONS.floor,
    "the slow backend never drops below the floor",
  );
  assert.ok(Math.min(...slowFactors) < 0.9, "it did lose weight while slow");
  assert.ok(
    history.every((second) => second.load.c > 0),
    "and it kept some traffic throughout",
  );

  for (const second of history) {
    for (const id of ["a", "b", "d"]) {
      assert.ok(second.load[id] < CAPACITY, `${id} overloaded: ${second.load[id]} req/s`);
      assert.ok(second.factors[id] >= 0.95, `${id} was dragged down to ${second.factors[id]}`);
      assert.ok(second.factors[id] <= 1.2, `${id} was pulled up to ${second.factors[id]}`);
    }
  }
  const last = history.at(-1)!.factors;
  for (const id of IDS) {
    assert.ok(Math.abs(last[id] - 1) <= 0.05, `${id} did not come back: ${last[id]}`);
  }
});

test("without the guard (mean baseline, no damping, no bounds) the same slowdown jerks every weight", () => {
  const unguarded = {
    intervalMs: 1_000,
    floor: 0.01,
    ceiling: 10,
    maxStep: 1,
    baseline: "mean" as const,
  };
  const history = simulate(
    20,
    (id, second) => (id === "c" && second >= 10 && second < 13 ? 5 : 1),
    unguarded,
  );
  const healthyPeak = Math.max(...history.map((second) => second.factors.a));
  const slowDrop = history[9].factors.c - history[10].factors.c;
  // The contrast that shows the guard is doing the work in the test above.
  assert.ok(healthyPeak >= 1.5, `healthy backends pulled up to ${healthyPeak}`);
  assert.ok(slowDrop > 0.5, `the slow backend lost ${slowDrop} in one interval`);
});

test("with steady, equal backends the weights stay as configured", () => {
  const history = simulate(20, () => 1);
  for (const second of history) for (const id of IDS) assert.equal(second.factors[id], 1);
});

test("backends without recent samples are left alone, and one sampled backend is not enough", () => {
  const clock = { now: 100_000 };
  const pool = new Pool(
    "stale",
    IDS.map((id, i) => ({ id, host: "127.0.0.1", port: 9000 + i })),
    { algorithm: "wrr", clock: () => clock.now },
  );
  const sample = (id: string, latencyMs: number) =>
    pool.take(pool.get(id)!).release({ ok: true, latencyMs });
  sample("a", 10);
  assert.equal(adjustWeights(pool, OPTIONS, clock.now), 0, "a single sampled backend has no peer");
  sample("b", 10);
  sample("c", 100);
  clock.now += 5_000; // older than two intervals
  sample("a", 10);
  sample("b", 10);
  assert.equal(
    adjustWeights(pool, OPTIONS, clock.now),
    0,
    "c's sample is stale; a and b are equal",
  );
  assert.equal(pool.get("c")!.weightFactor, 1);
  sample("c", 100);
  adjustWeights(pool, OPTIONS, clock.now);
  assert.equal(pool.get("c")!.weightFactor, 0.9, "fresh again: one bounded step down");
  pool.close();
});

test("on its timer, dynamic weights lower a slow backend's factor; stop with reset restores it", async () => {
  const pool = new Pool(
    "timer",
    IDS.map((id, i) => ({ id, host: "127.0.0.1", port: 9000 + i, weight: 4 })),
    { algorithm: "wrr" },
  );
  const feed = setInterval(() => {
    for (const backend of pool.backends) {
      pool.take(backend).release({ ok: true, latencyMs: backend.id === "d" ? 80 : 10 });
    }
  }, 5);
  const dynamic = startDynamicWeights(pool, { ...OPTIONS, intervalMs: 20 });
  try {
    await waitFor("d to lose weight", () => pool.get("d")!.weightFactor <= 0.8);
    assert.ok(pool.get("d")!.weight < 4 && pool.get("d")!.weight >= 4 * OPTIONS.floor);
  } finally {
    clearInterval(feed);
    dynamic.stop({ reset: true });
  }
  assert.equal(pool.get("d")!.weightFactor, 1);
  assert.equal(pool.get("d")!.weight, 4);
  pool.close();
});
