/**
 * The contract every scheduling algorithm implements.
 *
 * An algorithm is a pure function of pool state, an optional key, the clock and a random
 * source: it never reads the time or Math.random itself, so every decision can be replayed
 * in a test or in the simulator. It imports nothing else from the project.
 */

/** What an algorithm sees of one backend. The pool owns these objects and keeps them live. */
export interface Backend {
  /** Stable identity: the configured name, or "host:port". Hash tables are built from it. */
  readonly id: string;
  /** Effective weight now (slow start, dynamic weights applied). 0 means quiesced. */
  readonly weight: number;
  /** Open proxied connections (L4) or in-flight requests (L7). */
  readonly active: number;
  /** Connections opening or closing, plus recently closed ones kept for a linger time. */
  readonly inactive: number;
  /**
   * In service: up, enabled, not draining, not suspended (IPVS's IP_VS_DEST_F_AVAILABLE).
   * Says nothing of load: see `overloaded`.
   */
  readonly available: boolean;
  /**
   * At its connection threshold (IPVS's IP_VS_DEST_F_OVERLOAD, ipvsadm -x/-y). Every
   * algorithm skips an overloaded backend when choosing (common/schedulable.ts); only lblc
   * keeps a cached one, as the kernel does. It flips with connection counts between `update`
   * calls, so algorithms check it at pick time.
   */
  readonly overloaded: boolean;
  /** Latency estimate in milliseconds (peak EWMA), or 0 when there is no sample yet. */
  readonly latencyMs: number;
  /** Time in ms (the injected clock) of the latest latency sample; 0 when none. */
  readonly latencyAt: number;
}

/** Everything an algorithm may use for one decision besides the backends. */
export interface PickContext {
  /**
   * The hashing key: client address, a header, a cookie, a URL parameter or the URL, as the
   * pool's `hash_key` says. Hash algorithms without a key fall back to an empty string.
   */
  key?: string;
  /** The clock, in milliseconds (monotonic in production, scripted in tests). */
  now: number;
  /** A uniform random number in [0, 1). */
  random: () => number;
}

/** A scheduling algorithm bound to one pool. */
export interface Balancer<B extends Backend = Backend> {
  /** The algorithm's registered name (`rr`, `wrr`, `maglev`, ...). */
  readonly name: string;
  /**
   * Called with the pool's backends in configured order whenever membership, weights,
   * health, drain or enable state change. Algorithms rebuild their tables here.
   */
  update(backends: readonly B[]): void;
  /** Chooses a backend for a new connection or request; undefined when none can be used. */
  pick(context: PickContext): B | undefined;
}

/** Options shared by the algorithm factories; each algorithm reads the ones it knows. */
export interface BalancerOptions {
  /** chash: points per unit of weight on the ring (ketama uses 160 per backend). */
  vnodes?: number;
  /** chash, bounded: the hash function for ring points and keys. */
  hash?: HashName;
  /** maglev: lookup table size, a prime (65537 by default). */
  tableSize?: number;
  /** bounded: the load factor c (1.25 allows 25% over the mean). */
  loadFactor?: number;
  /** lblc, lblcr: ms an unused table entry is kept (IPVS lblc_expiration, 24 h). */
  expirationMs?: number;
  /** sh: also hash the source port (IPVS sh-port). The key must then carry it. */
  hashPort?: boolean;
  /** sh: probe further buckets when the hashed backend is unavailable (sh-fallback). */
  fallback?: boolean;
  /** ewma: decay time constant τ in ms (10 s by default). */
  decayMs?: number;
  /** ewma: latency assumed for a backend with no sample yet, in ms. */
  defaultLatencyMs?: number;
}

/** Hash functions the hashing algorithms may use for keys and ring points. */
export type HashName = "fnv1a" | "murmur3" | "md5" | "xxhash32";

/** Creates a balancer with the given options. */
export type BalancerFactory = (options?: BalancerOptions) => Balancer;

/** A registered algorithm: how to make it and what it needs. */
export interface AlgorithmInfo {
  readonly name: AlgorithmName;
  /** One-line description for `ballast help` and the docs. */
  readonly description: string;
  /** True when decisions depend on `PickContext.key`. */
  readonly usesKey: boolean;
  /** True when the algorithm honours weights. */
  readonly weighted: boolean;
  readonly create: BalancerFactory;
}

/** Every algorithm name ballast knows. */
export const algorithmNames = [
  "rr",
  "wrr",
  "random",
  "wrandom",
  "lc",
  "wlc",
  "sed",
  "nq",
  "fo",
  "ovf",
  "dh",
  "sh",
  "lblc",
  "lblcr",
  "chash",
  "maglev",
  "bounded",
  "p2c",
  "ewma",
] as const;

export type AlgorithmName = (typeof algorithmNames)[number];
