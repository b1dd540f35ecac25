/** Requests per second per backend, computed from counter deltas sampled on a timer. */
import type { BackendState } from "../pool/backend.js";
import type { Runtime } from "../runtime/runtime.js";

/** How many intervals the rate is averaged over (ipvsadm's estimator smooths over ~2 s too). */
const WINDOW_SAMPLES = 3;

interface History {
  /** The backend sampled: one that replaced it under the same id starts its counters at 0. */
  backend: BackendState;
  /** Request counts and times of the last WINDOW_SAMPLES + 1 samples, oldest first. */
  requests: number[];
  at: number[];
  perSecond: number;
}

/**
 * Samples every backend's request counter once per interval and keeps the rate over the
 * last few intervals. Counters only grow, so a delta is exact; a backend seen for the first
 * time has rate 0 until the next sample.
 */
export class RateSampler {
  private readonly history = new Map<string, History>();
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

  /** Requests per second of one backend over the last few intervals (0 when unknown). */
  rate(pool: string, backend: string): number {
    return this.history.get(key(pool, backend))?.perSecond ?? 0;
  }

  /** Takes one sample now; backends that left are forgotten. */
  sample(now = Date.now()): void {
    const seen = new Set<string>();
    for (const [poolName, pool] of this.runtime.pools) {
      for (const backend of pool.backends) {
        const id = key(poolName, backend.id);
        seen.add(id);
        const count = backend.counters.requests;
        let history = this.history.get(id);
        if (history === undefined || history.backend !== backend) {
          // New, or replaced under the same id (new address, re-registered): its counters
          // restarted, and a delta against the old ones would be negative.
          history = { backend, requests: [], at: [], perSecond: 0 };
          this.history.set(id, history);
        }
        history.requests.push(count);
        history.at.push(now);
        if (history.at.length > WINDOW_SAMPLES + 1) {
          history.requests.shift();
          history.at.shift();
        }
        const elapsed = now - history.at[0];
        history.perSecond = elapsed > 0 ? ((count - history.requests[0]) * 1000) / elapsed : 0;
      }
    }
    for (const id of this.history.keys()) if (!seen.has(id)) this.history.delete(id);
  }
}

function key(pool: string, backend: string): string {
  return `${pool}\u0000${backend}`;
}
