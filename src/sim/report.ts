/** The comparison table: one row per algorithm, best p99 first. */
import type { AlgorithmResult } from "./run-algorithm.js";

/** Failing more than this share of requests puts a row below every row that did not. */
const FAILING_SHARE = 0.01;

/**
 * Results best first: rows that failed at most 1% of their requests come first, then the
 * rest, each group by p99 (runs with no successful request last), then by name. Ranking by
 * p99 alone would put an algorithm that refuses most requests (ovf with small weights) near
 * the top, since its few successes are fast.
 */
export function rankResults(results: readonly AlgorithmResult[]): AlgorithmResult[] {
  const failing = (r: AlgorithmResult) => (r.failures > FAILING_SHARE * r.requests ? 1 : 0);
  const p99 = (r: AlgorithmResult) => (Number.isNaN(r.p99Ms) ? Number.POSITIVE_INFINITY : r.p99Ms);
  return [...results].sort(
    (a, b) =>
      failing(a) - failing(b) ||
      p99(a) - p99(b) ||
      (a.algorithm < b.algorithm ? -1 : a.algorithm > b.algorithm ? 1 : 0),
  );
}

/** The table as text, columns aligned; `backendIds` fixes the order of the per-backend cells. */
export function formatTable(
  results: readonly AlgorithmResult[],
  backendIds: readonly string[],
): string {
  const ids = backendIds.join("/");
  const header = [
    "algorithm",
    "requests",
    "failed",
    "mean ms",
    "p50 ms",
    "p99 ms",
    `share % ${ids}`,
    `peak in-flight ${ids}`,
    "key stability",
  ];
  const rows = rankResults(results).map((r) => [
    r.algorithm,
    String(r.requests),
    String(r.failures),
    formatMs(r.meanMs),
    formatMs(r.p50Ms),
    formatMs(r.p99Ms),
    backendIds.map((id) => (r.share[id] * 100).toFixed(0)).join("/"),
    backendIds.map((id) => String(r.peakInFlight[id])).join("/"),
    r.keyStability === null ? "-" : `${(r.keyStability * 100).toFixed(1)}%`,
  ]);
  const table = [header, ...rows];
  const widths = header.map((_, c) => Math.max(...table.map((row) => row[c].length)));
  // Text columns left, numbers right, as a reader scans them.
  return table
    .map((row) =>
      row
        .map((cell, c) => (c === 0 || c >= 6 ? cell.padEnd(widths[c]) : cell.padStart(widths[c])))
        .join("  ")
        .trimEnd(),
    )
    .join("\n");
}

function formatMs(value: number): string {
  return Number.isNaN(value) ? "-" : value.toFixed(1);
}
