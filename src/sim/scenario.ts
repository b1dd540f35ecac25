/** What a simulation runs: the backends, their trouble windows and the workload. */

/** How a backend's service time spreads around its mean. */
export type ServiceSpread = "exponential" | "lognormal" | "fixed";

/** One simulated backend. */
export interface SimBackendSpec {
  id: string;
  /** Mean service time in ms when the backend is not slowed down. */
  meanMs: number;
  /** Configured weight in the pool. */
  weight: number;
  /** Requests served at once; more wait in the backend's own FIFO queue. */
  capacity: number;
  spread: ServiceSpread;
}

/** "Backend b is `factor` times slower from `fromMs` to `toMs`" (service starts in the window). */
export interface SlowWindow {
  backend: string;
  factor: number;
  fromMs: number;
  toMs: number;
}

/** "Backend b is down from `fromMs` to `toMs`": requests to it fail, in-flight ones reset. */
export interface DownWindow {
  backend: string;
  fromMs: number;
  toMs: number;
}

/** Where request keys come from (the hashing algorithms' input). */
export interface KeyPopulation {
  /** Number of distinct keys (client addresses). */
  count: number;
  distribution: "zipf" | "uniform";
  /** Zipf exponent s: P(key i) ∝ 1 / i^s. */
  zipfExponent: number;
}

/** A whole scenario; the same scenario and seed give the same run. */
export interface Scenario {
  backends: SimBackendSpec[];
  /** Mean arrivals per second of the Poisson process. */
  ratePerSecond: number;
  /** Number of requests to send; the run ends when the last one has finished. */
  requests: number;
  keys: KeyPopulation;
  slow: SlowWindow[];
  down: DownWindow[];
  seed: number;
}

/** The default: a heterogeneous pool where load-aware algorithms beat round robin on p99. */
export const defaultBackends = "a:10ms,b:20ms,c:40ms";

/** Defaults of everything but the backends. */
export const scenarioDefaults = {
  ratePerSecond: 1000,
  requests: 20_000,
  capacity: 10,
  spread: "exponential" as ServiceSpread,
  keys: { count: 1000, distribution: "zipf", zipfExponent: 1 } as KeyPopulation,
  seed: 1,
};
