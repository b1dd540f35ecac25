/** Small arithmetic shared by the registry benchmark's parts. */

/** Events per second since `startedAt` (a `process.hrtime.bigint()`). */
export function rate(count: number, startedAt: bigint): number {
  return Math.round(count / (Number(process.hrtime.bigint() - startedAt) / 1e9));
}

/** The p-th percentile (0..100) of `values`, nearest rank. */
export function percentile(values: number[], p: number): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.ceil((p / 100) * sorted.length) - 1)];
}

/** p50, p99 and max of durations in ms, as one line. */
export function show(values: number[]): string {
  return `p50 ${percentile(values, 50).toFixed(1)} ms, p99 ${percentile(values, 99).toFixed(1)} ms, max ${Math.max(...values).toFixed(1)} ms`;
}

/** `a` as a multiple of `b`, such as "0.48x". */
export function ratio(a: number, b: number): string {
  return `${(a / b).toFixed(2)}x`;
}
