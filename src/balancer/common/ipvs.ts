/**
 * Pieces shared by the IPVS schedulers, after net/netfilter/ipvs/ip_vs_*.c. Load per weight
 * is always compared by cross-multiplying, never by dividing, as the kernel does.
 */
import type { Backend } from "../types.js";
import { isSchedulable } from "./schedulable.js";

/** ip_vs_dest_conn_overhead: active connections weigh 256 times an inactive one. */
export function connectionOverhead(backend: Backend): number {
  return backend.active * 256 + backend.inactive;
}

/**
 * Weighted least connection (ip_vs_wlc.c): the first schedulable backend, replaced by a
 * later one `d` when `overhead(least) * weight(d) > overhead(d) * weight(least)`.
 * Ties go to the earliest backend in the list.
 */
export function pickWeightedLeastConnection<B extends Backend>(
  backends: readonly B[],
): B | undefined {
  let least: B | undefined;
  let leastOverhead = 0;
  for (const backend of backends) {
    if (!isSchedulable(backend)) continue;
    const overhead = connectionOverhead(backend);
    if (least === undefined || leastOverhead * backend.weight > overhead * least.weight) {
      least = backend;
      leastOverhead = overhead;
    }
  }
  return least;
}

/**
 * lblc/lblcr's overload test (is_overloaded in ip_vs_lblc.c): the backend has more active
 * connections than its weight while some backend in the pool has `active * 2 < weight`.
 */
export function isLocalityOverloaded<B extends Backend>(backend: B, pool: readonly B[]): boolean {
  if (backend.active <= backend.weight) return false;
  for (const other of pool) {
    if (other.active * 2 < other.weight) return true;
  }
  return false;
}
