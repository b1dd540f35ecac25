/**
 * A token bucket per client address (nginx `limit_req`, HAProxy `http_req_rate` in a
 * stick-table): `ratePerSecond` tokens flow in, a bucket holds `burst + 1`, and each request
 * (or connection, or datagram) takes one. As with nginx's `burst`, a client may go `burst`
 * requests beyond the one the rate allows at once, then gets one per 1/rate seconds.
 *
 * Memory is bounded: a bucket that has filled up again says nothing a new bucket would not,
 * so full buckets are swept out now and then; and beyond `maxClients` the oldest entry is
 * forgotten (that client starts again with a full bucket, the cheapest error to make).
 */

/** Milliseconds from an arbitrary origin; injected so tests can script time. */
export type Clock = () => number;

/** Clients tracked at most, unless the caller says otherwise. */
const DEFAULT_MAX_CLIENTS = 100_000;
/** Sweeps run at most this often, and at least this often while clients are tracked. */
const MIN_SWEEP_MS = 1000;
const MAX_SWEEP_MS = 60_000;

/** One client's bucket; mutated in place so a take allocates nothing. */
class Bucket {
  constructor(
    public tokens: number,
    public updatedAt: number,
  ) {}
}

/** Options of a RateLimiter. */
export interface RateLimiterOptions {
  ratePerSecond: number;
  burst: number;
  maxClients?: number;
  clock?: Clock;
}

/** Per-client token buckets; a rate of 0 turns it off. */
export class RateLimiter {
  private readonly buckets = new Map<string, Bucket>();
  private readonly maxClients: number;
  private readonly clock: Clock;
  private ratePerMs = 0;
  private capacity = 1;
  private sweepEveryMs = MIN_SWEEP_MS;
  private nextSweepAt = Number.NEGATIVE_INFINITY;
  private lastSweepAt = Number.NEGATIVE_INFINITY;

  constructor(options: RateLimiterOptions) {
    this.maxClients = Math.max(1, options.maxClients ?? DEFAULT_MAX_CLIENTS);
    this.clock = options.clock ?? (() => performance.now());
    this.configure(options.ratePerSecond, options.burst);
  }

  /** Whether a rate is set. */
  get enabled(): boolean {
    return this.ratePerMs > 0;
  }

  /** Clients currently tracked. */
  get size(): number {
    return this.buckets.size;
  }

  /**
   * Sets a new rate and burst. Buckets are kept: they refill at the new rate from now on and
   * never hold more than the new capacity. A rate of 0 forgets every bucket.
   */
  configure(ratePerSecond: number, burst: number): void {
    this.ratePerMs = ratePerSecond > 0 ? ratePerSecond / 1000 : 0;
    this.capacity = Math.max(0, Math.floor(burst)) + 1;
    if (this.ratePerMs === 0) {
      this.buckets.clear();
      return;
    }
    // An emptied bucket is full again after capacity / rate: no point sweeping faster.
    const refillMs = this.capacity / this.ratePerMs;
    this.sweepEveryMs = Math.min(MAX_SWEEP_MS, Math.max(MIN_SWEEP_MS, refillMs));
    for (const bucket of this.buckets.values()) {
      if (bucket.tokens > this.capacity) bucket.tokens = this.capacity;
    }
  }

  /**
   * Takes one token from `client`'s bucket: 0 when the request may go ahead, otherwise the
   * milliseconds until a token will be there (the request is refused and takes nothing).
   */
  take(client: string): number {
    const ratePerMs = this.ratePerMs;
    if (ratePerMs === 0) return 0;
    const now = this.clock();
    if (now >= this.nextSweepAt) this.sweep(now);
    const bucket = this.buckets.get(client);
    if (bucket === undefined) {
      if (this.buckets.size >= this.maxClients) this.makeRoom(now);
      this.buckets.set(client, new Bucket(this.capacity - 1, now));
      return 0;
    }
    const elapsed = now > bucket.updatedAt ? now - bucket.updatedAt : 0;
    const tokens = Math.min(this.capacity, bucket.tokens + elapsed * ratePerMs);
    bucket.updatedAt = now;
    if (tokens >= 1) {
      bucket.tokens = tokens - 1;
      return 0;
    }
    bucket.tokens = tokens;
    return Math.ceil((1 - tokens) / ratePerMs);
  }

  /** Forgets every bucket that has filled up again. */
  sweep(now: number = this.clock()): void {
    this.lastSweepAt = now;
    this.nextSweepAt = now + this.sweepEveryMs;
    const ratePerMs = this.ratePerMs;
    const capacity = this.capacity;
    const buckets = this.buckets;
    buckets.forEach((bucket, client) => {
      if (bucket.tokens + (now - bucket.updatedAt) * ratePerMs >= capacity) buckets.delete(client);
    });
  }

  /** Makes room for one more client: full buckets first, then the oldest entries. */
  private makeRoom(now: number): void {
    // A sweep walks every bucket; under a flood of new addresses it would run per request,
    // so it runs here only when none ran lately, and otherwise the oldest entry goes.
    if (now - this.lastSweepAt >= MIN_SWEEP_MS) this.sweep(now);
    const buckets = this.buckets;
    if (buckets.size < this.maxClients) return;
    // Map iteration is insertion order: the first keys are the clients seen first.
    for (const client of buckets.keys()) {
      buckets.delete(client);
      if (buckets.size < this.maxClients) return;
    }
  }
}
