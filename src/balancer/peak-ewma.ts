/**
 * Peak EWMA (Finagle's PeakEwma, Linkerd): each backend's latency estimate (kept by the pool:
 * a slower sample replaces it at once, a faster one is blended in) is decayed toward 0 at
 * pick time by exp(-(now - latencyAt) / decayMs), so a backend that was slow but has not
 * been tried since (it got no traffic, or it recovered) looks cheaper as time passes and is
 * tried again. Cost = estimate × (active + 1), divided by weight (cross-multiplied), and the
 * cheaper of two random draws wins, as in power of two choices. A backend with no sample yet
 * costs `defaultLatencyMs` so it is tried.
 */
import { TwoChoices } from "./common/two-choices.js";
import type { AlgorithmInfo, Backend, Balancer, BalancerOptions, PickContext } from "./types.js";

/** Default decay time constant τ (ms), as Finagle's. */
const DEFAULT_DECAY_MS = 10_000;
/** Default latency (ms) of a backend without a sample: low, so a new backend is tried. */
const DEFAULT_LATENCY_MS = 1;

class PeakEwma<B extends Backend> implements Balancer<B> {
  readonly name = "ewma";
  private readonly choices = new TwoChoices<B>();
  private readonly decayMs: number;
  private readonly defaultLatencyMs: number;

  constructor(options: BalancerOptions) {
    this.decayMs =
      options.decayMs !== undefined && options.decayMs > 0 ? options.decayMs : DEFAULT_DECAY_MS;
    this.defaultLatencyMs = options.defaultLatencyMs ?? DEFAULT_LATENCY_MS;
  }

  update(backends: readonly B[]): void {
    this.choices.update(backends);
  }

  pick(context: PickContext): B | undefined {
    const choices = this.choices;
    if (choices.draw(context.random) < 2) return choices.first;
    const a = choices.first!;
    const b = choices.second!;
    const costA = this.cost(a, context.now);
    const costB = this.cost(b, context.now);
    return costB * a.weight < costA * b.weight ? b : a;
  }

  /** Decayed latency estimate × (active + 1). */
  private cost(backend: B, now: number): number {
    let estimate: number;
    if (backend.latencyAt === 0 && backend.latencyMs === 0) estimate = this.defaultLatencyMs;
    else {
      const elapsed = now > backend.latencyAt ? now - backend.latencyAt : 0;
      estimate = backend.latencyMs * Math.exp(-elapsed / this.decayMs);
    }
    return estimate * (backend.active + 1);
  }
}

export const peakEwma: AlgorithmInfo = {
  name: "ewma",
  description: "peak EWMA: of two random backends, lower decayed latency × (in-flight + 1)",
  usesKey: false,
  weighted: true,
  create: (options = {}) => new PeakEwma(options),
};
