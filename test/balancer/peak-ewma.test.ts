/**
 * ewma after Finagle's PeakEwma balancer and Linkerd: cost = latency estimate decayed by
 * exp(-Δt/τ) × (in-flight + 1), cheaper of two random draws. The pool keeps the estimate
 * (peak: a slower sample replaces it, a faster one is blended in); the test does the same.
 */
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { peakEwma } from "../../src/balancer/peak-ewma.js";
import type { PickContext } from "../../src/balancer/types.js";
import { makeBackends, makeContext, type TestBackend } from "./fixtures.js";

const DECAY_MS = 10_000;

/** The pool's peak-EWMA update for one latency sample. */
function observe(backend: TestBackend, sample: number, now: number): void {
  if (backend.latencyAt === 0 || sample >= backend.latencyMs) backend.latencyMs = sample;
  else {
    const w = Math.exp(-(now - backend.latencyAt) / DECAY_MS);
    backend.latencyMs = backend.latencyMs * w + sample * (1 - w);
  }
  backend.latencyAt = now;
}

/** `count` requests, 10 ms apart, each answered at once with its backend's latency. */
function serve(
  balancer: ReturnType<typeof peakEwma.create>,
  backends: TestBackend[],
  latencies: number[],
  count: number,
  context: PickContext,
): number[] {
  const picks = backends.map(() => 0);
  for (let i = 0; i < count; i++) {
    context.now += 10;
    const picked = balancer.pick(context) as TestBackend;
    const index = backends.indexOf(picked);
    picks[index]++;
    observe(picked, latencies[index], context.now);
  }
  return picks;
}

describe("ewma: peak EWMA with power of two choices", () => {
  it("decays an old estimate toward 0 with exp(-(now - latencyAt) / decayMs)", () => {
    const [stale, fresh] = makeBackends([1, 1]);
    const balancer = peakEwma.create({ decayMs: DECAY_MS });
    balancer.update([stale, fresh]);
    stale.latencyMs = 100;
    stale.latencyAt = 1;
    fresh.latencyMs = 50;
    const crossing = 1 + DECAY_MS * Math.LN2;
    for (const [now, expected] of [
      [crossing * 0.99, fresh],
      [crossing * 1.01, stale],
    ] as const) {
      fresh.latencyAt = now;
      for (let seed = 1; seed < 10; seed++) {
        assert.equal(balancer.pick(makeContext(seed, now)), expected, `at ${now} ms`);
      }
    }
  });

  it("weighs the estimate by in-flight requests + 1, and tries a backend with no sample", () => {
    const [a, b] = makeBackends([1, 1]);
    const balancer = peakEwma.create({ defaultLatencyMs: 5 });
    balancer.update([a, b]);
    a.latencyMs = 10;
    a.latencyAt = 1000;
    assert.equal(balancer.pick(makeContext(1, 1000)), b, "5 (default) < 10");
    b.active = 2;
    assert.equal(balancer.pick(makeContext(1, 1000)), a, "5 * 3 > 10 * 1");
  });

  it("sends less to a slow backend, and traffic again after it recovers and time passes", () => {
    const backends = makeBackends([1, 1, 1]);
    const balancer = peakEwma.create({ decayMs: DECAY_MS });
    balancer.update(backends);
    const context = makeContext(41, 1);
    const slow = serve(balancer, backends, [200, 10, 10], 3000, context);
    assert.ok(slow[0] / 3000 < 0.05, `slow backend picks ${slow[0]}`);
    // b0 is healthy again but its estimate is still high; as time passes it decays.
    context.now += 60_000;
    const recovered = serve(balancer, backends, [10, 10, 10], 3000, context);
    assert.ok(recovered[0] / 3000 > 0.2, `recovered backend picks ${recovered[0]}`);
  });
});
