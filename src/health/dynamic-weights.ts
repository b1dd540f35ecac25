/**
 * Dynamic weights: every interval, each backend's weight factor moves toward
 * `baseline latency / its latency` (faster = heavier), where the baseline is the median (or
 * mean) over the pool's backends with recent samples. The guard against an avalanche:
 *
 * - the median baseline: one slow backend does not move the reference, so the others keep
 *   their weights instead of all being "faster than average" and pulling in its load;
 * - damping: the factor moves at most `maxStep` per interval, so a brief slowdown costs a
 *   step or two, not the backend's whole share;
 * - bounds: the factor stays in [floor, ceiling], so a slow backend keeps some traffic (and
 *   keeps producing the samples that show its recovery), and a fast one takes at most
 *   `ceiling` times its configured share;
 * - freshness: a backend without a sample in the last `sampleMaxAgeMs` is left alone, and a
 *   pool with fewer than two such backends is not adjusted at all.
 */
import type { PoolConfig } from "../config/schema/pool.js";
import type { BackendState } from "../pool/backend.js";
import type { Pool } from "../pool/pool.js";

/** The knobs, in ms and factors of the configured weight. */
export interface DynamicWeightOptions {
  intervalMs: number;
  /** Lowest factor (0 < floor <= 1). */
  floor: number;
  /** Highest factor (>= 1). */
  ceiling: number;
  /** Largest change of the factor per interval. */
  maxStep: number;
  /** The reference latency: median (default, the guarded choice) or mean. */
  baseline?: "median" | "mean";
  /** Samples older than this are not recent; 2 intervals by default. */
  sampleMaxAgeMs?: number;
}

/** Changes smaller than this are not applied: they would only rebuild the algorithm. */
const DEAD_BAND = 0.005;

/** The options from a pool's `dynamic_weights` section; undefined when it has none. */
export function dynamicWeightOptionsFromConfig(
  config: PoolConfig["dynamic_weights"],
): DynamicWeightOptions | undefined {
  if (config === undefined) return undefined;
  return {
    intervalMs: config.interval,
    floor: config.floor,
    ceiling: config.ceiling,
    maxStep: config.max_step,
    baseline: config.baseline,
  };
}

/** One adjustment round at time `now` (the pool's clock). Returns how many factors changed. */
export function adjustWeights(pool: Pool, options: DynamicWeightOptions, now: number): number {
  const maxAge = options.sampleMaxAgeMs ?? 2 * options.intervalMs;
  const primaries: BackendState[] = [];
  const backups: BackendState[] = [];
  for (const backend of pool.backends) {
    const serving = backend.health === "up" && backend.enabled && !backend.draining;
    const recent = backend.latencyAt > 0 && now - backend.latencyAt <= maxAge;
    if (serving && recent && backend.latencyMs > 0) {
      (backend.backup ? backups : primaries).push(backend);
    }
  }
  // Backups only serve when the primaries cannot; they are compared among themselves.
  return adjustGroup(pool, primaries, options) + adjustGroup(pool, backups, options);
}

function adjustGroup(pool: Pool, group: BackendState[], options: DynamicWeightOptions): number {
  if (group.length < 2) return 0;
  const latencies = group.map((backend) => backend.latencyMs);
  const baseline = options.baseline === "mean" ? mean(latencies) : median(latencies);
  let changed = 0;
  for (const backend of group) {
    const target = clamp(baseline / backend.latencyMs, options.floor, options.ceiling);
    const step = clamp(target - backend.weightFactor, -options.maxStep, options.maxStep);
    if (Math.abs(step) < DEAD_BAND) continue;
    const next = clamp(backend.weightFactor + step, options.floor, options.ceiling);
    if (pool.setWeightFactor(backend.id, next)) changed++;
  }
  return changed;
}

/** Runs `adjustWeights` every interval until stopped. */
export interface DynamicWeights {
  update(options: DynamicWeightOptions): void;
  /** Stops adjusting; with `reset`, every factor goes back to 1 (the configured weights). */
  stop(options?: { reset?: boolean }): void;
}

/** Starts adjusting the pool's weight factors on a timer. */
export function startDynamicWeights(pool: Pool, options: DynamicWeightOptions): DynamicWeights {
  let current = options;
  let timer = setInterval(() => adjustWeights(pool, current, pool.clock()), current.intervalMs);
  timer.unref();
  return {
    update(next) {
      const intervalChanged = next.intervalMs !== current.intervalMs;
      current = next;
      if (!intervalChanged) return;
      clearInterval(timer);
      timer = setInterval(() => adjustWeights(pool, current, pool.clock()), current.intervalMs);
      timer.unref();
    },
    stop(stopOptions = {}) {
      clearInterval(timer);
      if (!stopOptions.reset) return;
      for (const backend of pool.backends) {
        if (backend.weightFactor !== 1) pool.setWeightFactor(backend.id, 1);
      }
    },
  };
}

function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  const middle = sorted.length >> 1;
  return sorted.length % 2 === 1 ? sorted[middle] : (sorted[middle - 1] + sorted[middle]) / 2;
}

function mean(values: number[]): number {
  let sum = 0;
  for (const value of values) sum += value;
  return sum / values.length;
}

function clamp(value: number, low: number, high: number): number {
  return Math.min(high, Math.max(low, value));
}
