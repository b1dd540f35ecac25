/**
 * How a kernel virtual service spreads new connections, computed from the pool: a sequence
 * of slots that nftables walks with `numgen` (rr, wrr, random, wrandom, and the
 * connection-count schedulers re-weighted at an interval), or IPVS's 256-bucket table that
 * `jhash` indexes (sh, dh). The kernel then decides per connection without asking ballast.
 */

import { KERNEL_ALGORITHMS } from "../config/schema/listener.js";

export { KERNEL_ALGORITHMS };

export type KernelAlgorithm = (typeof KERNEL_ALGORITHMS)[number];

/** True when nftables can schedule `algorithm` (see KERNEL_ALGORITHMS). */
export function isKernelAlgorithm(algorithm: string): algorithm is KernelAlgorithm {
  return (KERNEL_ALGORITHMS as readonly string[]).includes(algorithm);
}

/** The schedulers that decide by connection counts, re-weighted from conntrack at an interval. */
export function countsConnections(algorithm: string): boolean {
  return algorithm === "lc" || algorithm === "wlc" || algorithm === "sed" || algorithm === "nq";
}

/** A real server as the kernel plane needs it: a live member of the pool. */
export interface RealServer {
  id: string;
  address: string;
  port: number;
  /** Effective weight (slow start and dynamic weights applied), > 0. */
  weight: number;
}

/** Connections a real server holds now, as conntrack (or DR's flow table) counts them. */
export interface ConnectionCount {
  active: number;
  inactive: number;
}

/** What the ruleset does with a new connection. */
export type Dispatch =
  | { kind: "sequence"; generator: "inc" | "random"; slots: readonly RealServer[] }
  | { kind: "hash"; key: "saddr" | "daddr"; buckets: readonly RealServer[] }
  | { kind: "none" };

/** IPVS's source/destination hashing table size (IP_VS_SH_TAB_SIZE). */
export const BUCKETS = 256;
/** The longest numgen sequence written; larger weights are scaled down to fit. */
export const MAX_SLOTS = 1024;

/** The dispatch for `algorithm` over `servers` (already only the live ones). */
export function planDispatch(
  algorithm: KernelAlgorithm,
  servers: readonly RealServer[],
  counts: ReadonlyMap<string, ConnectionCount> = new Map(),
  expectedNew = 1,
): Dispatch {
  if (servers.length === 0) return { kind: "none" };
  switch (algorithm) {
    case "rr":
      return { kind: "sequence", generator: "inc", slots: servers };
    case "random":
      return { kind: "sequence", generator: "random", slots: servers };
    case "wrr":
      return { kind: "sequence", generator: "inc", slots: weightedRoundRobinCycle(servers) };
    case "wrandom":
      return { kind: "sequence", generator: "random", slots: weightedRoundRobinCycle(servers) };
    case "fo":
      return { kind: "sequence", generator: "inc", slots: [failoverTarget(servers)] };
    case "sh":
      return { kind: "hash", key: "saddr", buckets: hashBuckets(servers) };
    case "dh":
      return { kind: "hash", key: "daddr", buckets: hashBuckets(servers) };
    default:
      return {
        kind: "sequence",
        generator: "inc",
        slots: simulatedPicks(algorithm, servers, counts, expectedNew),
      };
  }
}

function gcd(a: number, b: number): number {
  return b === 0 ? a : gcd(b, a % b);
}

/** Whole weights that sum to at most MAX_SLOTS, keeping their ratios as well as they can. */
function wholeWeights(servers: readonly RealServer[]): number[] {
  let weights = servers.map((s) => Math.max(1, Math.round(s.weight)));
  const sum = weights.reduce((a, b) => a + b, 0);
  if (sum > MAX_SLOTS) weights = weights.map((w) => Math.max(1, Math.floor((w * MAX_SLOTS) / sum)));
  const divisor = weights.reduce(gcd);
  return weights.map((w) => w / divisor);
}

/**
 * One full cycle of IPVS's weighted round robin (ip_vs_wrr.c): the current weight `cw` steps
 * down by the weights' gcd each time the index wraps, and a server is chosen while its weight
 * is at least `cw`. Weights 3:1 give a, a, a, b... interleaved as IPVS interleaves them.
 */
export function weightedRoundRobinCycle(servers: readonly RealServer[]): RealServer[] {
  const weights = wholeWeights(servers);
  const max = Math.max(...weights);
  const total = weights.reduce((a, b) => a + b, 0);
  const cycle: RealServer[] = [];
  let index = -1;
  let cw = 0;
  while (cycle.length < total) {
    index = (index + 1) % servers.length;
    if (index === 0) {
      cw -= 1; // the weights are already divided by their gcd
      if (cw <= 0) cw = max;
    }
    if (weights[index] >= cw) cycle.push(servers[index]);
  }
  return cycle;
}

/** IPVS `fo`: the first server of the highest weight. */
function failoverTarget(servers: readonly RealServer[]): RealServer {
  let best = servers[0];
  for (const server of servers) if (server.weight > best.weight) best = server;
  return best;
}

/**
 * IPVS's sh/dh table (ip_vs_sh_reassign): bucket i takes the next server in order, each
 * server repeated for as many buckets as its weight before the walk moves on, wrapping
 * over the list until all 256 buckets are filled.
 */
export function hashBuckets(servers: readonly RealServer[]): RealServer[] {
  const weights = servers.map((s) => Math.max(1, Math.round(s.weight)));
  const buckets: RealServer[] = [];
  let index = 0;
  let count = 0;
  for (let i = 0; i < BUCKETS; i++) {
    buckets.push(servers[index]);
    if (++count >= weights[index]) {
      index = (index + 1) % servers.length;
      count = 0;
    }
  }
  return buckets;
}

/**
 * The next `expected` decisions the kernel's own lc/wlc/sed/nq would make from today's counts,
 * if no connection ended meanwhile: each pick adds one active connection to the chosen
 * server. nftables then walks these picks in turn until the next re-weighting.
 */
export function simulatedPicks(
  algorithm: KernelAlgorithm,
  servers: readonly RealServer[],
  counts: ReadonlyMap<string, ConnectionCount>,
  expected: number,
): RealServer[] {
  const active = servers.map((s) => counts.get(s.id)?.active ?? 0);
  const inactive = servers.map((s) => counts.get(s.id)?.inactive ?? 0);
  const picks: RealServer[] = [];
  const n = Math.max(1, Math.min(MAX_SLOTS, Math.round(expected)));
  for (let k = 0; k < n; k++) {
    const chosen = pickByCounts(algorithm, servers, active, inactive);
    picks.push(servers[chosen]);
    active[chosen] += 1;
  }
  return picks;
}

/** One decision of ip_vs_lc / ip_vs_wlc / ip_vs_sed / ip_vs_nq over the given counts. */
function pickByCounts(
  algorithm: KernelAlgorithm,
  servers: readonly RealServer[],
  active: number[],
  inactive: number[],
): number {
  if (algorithm === "nq") {
    // ip_vs_nq: a server with no active connection at all is taken at once.
    const idle = active.indexOf(0);
    if (idle !== -1) return idle;
  }
  let best = 0;
  let bestCost = Number.POSITIVE_INFINITY;
  for (let i = 0; i < servers.length; i++) {
    // ip_vs_dest_conn_overhead: active connections weigh 256 times an inactive one.
    const overhead = active[i] * 256 + inactive[i];
    const weight = servers[i].weight;
    const cost =
      algorithm === "lc"
        ? overhead
        : algorithm === "wlc"
          ? overhead / weight
          : (active[i] + 1) / weight; // sed and nq: expected delay from active connections
    if (cost < bestCost) {
      best = i;
      bestCost = cost;
    }
  }
  return best;
}
