/** The HTTP benchmark's figures: medians over rounds, ratios to nginx, the printed table. */
import type { WrkResult } from "./wrk.js";

/** One target's run: wrk's figures plus the CPU the target used for them. */
export interface Measurement extends WrkResult {
  /** CPU seconds the target's processes used during the measured run. */
  cpuSeconds: number;
  /**
   * Requests served per CPU second of the target: its throughput on one core of its own,
   * and a figure that other load on a shared machine hardly moves.
   */
  requestsPerCpuSecond: number;
}

/** Each figure's median over the rounds (errors and requests summed). */
export function medianOf(list: Measurement[]): Measurement {
  const median = (pick: (r: Measurement) => number) => {
    const sorted = list.map(pick).sort((a, b) => a - b);
    const mid = sorted.length >> 1;
    return sorted.length % 2 === 1 ? sorted[mid] : (sorted[mid - 1] + sorted[mid]) / 2;
  };
  return {
    requestsPerSecond: median((r) => r.requestsPerSecond),
    p50Ms: median((r) => r.p50Ms),
    p99Ms: median((r) => r.p99Ms),
    errors: list.reduce((sum, r) => sum + r.errors, 0),
    requests: list.reduce((sum, r) => sum + r.requests, 0),
    cpuSeconds: median((r) => r.cpuSeconds),
    requestsPerCpuSecond: median((r) => r.requestsPerCpuSecond),
  };
}

/** ballast's ratios round by round: targets measured close in time see similar other load. */
export function printRoundRatios(samples: Map<string, Measurement[]>): void {
  const ballast = samples.get("ballast");
  if (!ballast) return;
  for (const reference of ["nginx", "http-proxy"]) {
    const other = samples.get(reference);
    if (!other || other.length !== ballast.length) continue;
    const ratios = (pick: (r: Measurement) => number) =>
      ballast.map((r, i) => (pick(r) / pick(other[i])).toFixed(2)).join(" ");
    console.log(
      `ballast / ${reference} by round: req/s ${ratios((r) => r.requestsPerSecond)}; ` +
        `req per CPU-s ${ratios((r) => r.requestsPerCpuSecond)}`,
    );
  }
}

/** The table: absolute figures (CPU-µs per request too) and each as a ratio to nginx. */
export function printTable(results: Map<string, Measurement>): void {
  const nginx = results.get("nginx");
  const ratio = (value: number, reference: number | undefined) =>
    reference ? `${(value / reference).toFixed(2)}x` : "-";
  const rows = [
    [
      "target",
      "req/s",
      "p50 ms",
      "p99 ms",
      "errors",
      "req/CPU-s",
      "CPU-µs/req",
      "req/s:nginx",
      "p50:nginx",
      "p99:nginx",
      "req/CPU-s:nginx",
    ],
  ];
  for (const [name, r] of results) {
    rows.push([
      name,
      r.requestsPerSecond.toFixed(0),
      r.p50Ms.toFixed(3),
      r.p99Ms.toFixed(3),
      String(r.errors),
      r.requestsPerCpuSecond.toFixed(0),
      (1e6 / r.requestsPerCpuSecond).toFixed(1),
      ratio(r.requestsPerSecond, nginx?.requestsPerSecond),
      ratio(r.p50Ms, nginx?.p50Ms),
      ratio(r.p99Ms, nginx?.p99Ms),
      ratio(r.requestsPerCpuSecond, nginx?.requestsPerCpuSecond),
    ]);
  }
  const widths = rows[0].map((_, column) => Math.max(...rows.map((row) => row[column].length)));
  for (const row of rows) {
    console.log(row.map((cell, column) => cell.padStart(widths[column])).join("  "));
  }
  const ballast = results.get("ballast");
  for (const reference of ["nginx", "http-proxy"]) {
    const other = results.get(reference);
    if (!ballast || !other) continue;
    console.log(
      `ballast / ${reference}: req/s ${ratio(ballast.requestsPerSecond, other.requestsPerSecond)}, ` +
        `req per CPU-s ${ratio(ballast.requestsPerCpuSecond, other.requestsPerCpuSecond)}`,
    );
  }
}

/**
 * The scaling curve of `workers: N`: requests/s and requests per CPU-second of each worker
 * count, as a ratio to one worker.
 */
export function printScaling(results: Map<string, Measurement>, counts: readonly number[]): void {
  const one = results.get("ballast");
  for (const count of counts) {
    const r = results.get(count === 1 ? "ballast" : `ballast x${count}`);
    if (!r) continue;
    const vsOne = one
      ? ` (${(r.requestsPerSecond / one.requestsPerSecond).toFixed(2)}x req/s, ` +
        `${(r.requestsPerCpuSecond / one.requestsPerCpuSecond).toFixed(2)}x req/CPU-s of 1 worker)`
      : "";
    console.log(
      `workers ${count}: ${r.requestsPerSecond.toFixed(0)} req/s, ` +
        `${r.requestsPerCpuSecond.toFixed(0)} req/CPU-s${vsOne}`,
    );
  }
}
