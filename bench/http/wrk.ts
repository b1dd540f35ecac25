/** Reads wrk's report: requests per second, latency percentiles and errors. */

export interface WrkResult {
  requestsPerSecond: number;
  p50Ms: number;
  p99Ms: number;
  /** Socket errors plus non-2xx/3xx responses. */
  errors: number;
  requests: number;
}

const UNIT_MS: Record<string, number> = { us: 0.001, ms: 1, s: 1000, m: 60_000 };

/** Parses the text `wrk --latency` prints; throws when the report is not there. */
export function parseWrk(text: string): WrkResult {
  const rps = /Requests\/sec:\s+([\d.]+)/.exec(text);
  const p50 = percentile(text, 50);
  const p99 = percentile(text, 99);
  if (!rps || p50 === undefined || p99 === undefined) {
    throw new Error(`cannot read wrk's report:\n${text}`);
  }
  const requests = /(\d+) requests in/.exec(text);
  let errors = 0;
  const socket = /Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)/.exec(text);
  if (socket) errors += socket.slice(1).reduce((sum, n) => sum + Number(n), 0);
  const non2xx = /Non-2xx or 3xx responses: (\d+)/.exec(text);
  if (non2xx) errors += Number(non2xx[1]);
  return {
    requestsPerSecond: Number(rps[1]),
    p50Ms: p50,
    p99Ms: p99,
    errors,
    requests: requests ? Number(requests[1]) : 0,
  };
}

function percentile(text: string, p: number): number | undefined {
  const match = new RegExp(`^\\s*${p}(?:\\.0+)?%\\s+([\\d.]+)(us|ms|s|m)\\s*$`, "m").exec(text);
  return match ? Number(match[1]) * UNIT_MS[match[2]] : undefined;
}
