/** Requests per second per backend, computed from counter deltas sampled on a timer. */
import type { Runtime } from "../runtime/runtime.js";

interface Sample {
  requests: number;
  at: number;
  perSecond: number;
}

/**
 * Samples every backend's request counter once per interval and keeps the rate over the
 * last interval. Counters only grow, so a delta is exact; a backend seen for the first time
 * has rate 0 until the next sample.
 */
export class RateSampler {
  private readonly samples = new Map<string, Sample>();
  private timer: NodeJS.Timeout | undefined;

  constructor(
    private readonly runtime: Runtime,
    private readonly intervalMs = 1000,
  ) {}

  /** Starts sampling (the timer does not keep the process alive). */
  start(): void {
    if (this.timer) return;
    this.sample();
    this.timer = setInterval(() => this.sample(), this.intervalMs);
    this.timer.unref();
  }

  /** Stops sampling. */
  stop(): void {
    if (this.timer) clearInterval(this.timer);
    this.timer = undefined;
  }

  /** Requests per second of one backend over the last interval (0 when unknown). */
  rate(pool: string, backend: string): number {
    return this.samples.get(key(pool, backend))?.perSecond ?? 0;
  }

  /** Takes one sample now; backends that left are forgotten. */
  sample(now = Date.now()): void {
    const seen = new Set<string>();
    for (const [poolName, pool] of this.runtime.pools) {
      for (const backend of pool.backends) {
        const id = key(poolName, backend.id);
        seen.add(id);
        const requests = backend.counters.requests;
        const previous = this.samples.get(id);
        if (previous === undefined) {
          this.samples.set(id, { requests, at: now, perSecond: 0 });
          continue;
        }
        const elapsed = now - previous.at;
        if (elapsed <= 0) continue;
        previous.perSecond = ((requests - previous.requests) * 1000) / elapsed;
        previous.requests = requests;
        previous.at = now;
      }
    }
    for (const id of this.samples.keys()) if (!seen.has(id)) this.samples.delete(id);
  }
}

function key(pool: string, backend: string): string {
  return `${pool}\u0000${backend}`;
}
