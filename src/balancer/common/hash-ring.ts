/**
 * The consistent hash ring (Karger et al. 1997, libketama) shared by `chash` and `bounded`:
 * each backend owns `vnodes × weight` points on a 32-bit circle; a key belongs to the first
 * point at or after its hash, wrapping.
 */
import type { Backend, HashName } from "../types.js";
import { hashFunction, ketamaPoint, md5Digest } from "./hash.js";
import { isSchedulable } from "./schedulable.js";

/** ketama's 160 points per backend of weight 1 (40 MD5 digests × 4 points). */
export const DEFAULT_VNODES = 160;

/** Most points a ring holds (16 MB of points, 32 MB of owner references). */
export const MAX_RING_POINTS = 1 << 22;

/** Points sorted ascending, with the backend that owns each one. */
export interface HashRing<B extends Backend> {
  readonly points: Uint32Array;
  readonly owners: readonly B[];
  /**
   * `start[p]`: index of the first point whose top bits are at least `p` (`start[2^bits]` is
   * the point count). A lookup scans one prefix's few points instead of a binary search,
   * whose mispredicted branches dominated the cost of a pick.
   */
  readonly start: Uint32Array;
  /** 32 − prefix bits. */
  readonly shift: number;
}

/** An empty ring: every lookup finds nothing. */
export function emptyHashRing<B extends Backend>(): HashRing<B> {
  return { points: new Uint32Array(0), owners: [], start: new Uint32Array(2), shift: 31 };
}

/**
 * Each backend's point hashes, kept between rebuilds: a weight change (a slow-start ramp
 * step) then only re-sorts, which halves the cost of a rebuild at 1,000 backends.
 * Point `i` of a backend hashes "<id>-<i>"; with md5 each digest of "<id>-<d>" gives four
 * points, as libketama does. Either way the first `k` points do not depend on the count.
 */
export class RingPointCache {
  private readonly hashName: HashName;
  private readonly hash: (text: string) => number;
  private readonly byId = new Map<string, Uint32Array>();

  constructor(hashName: HashName) {
    this.hashName = hashName;
    this.hash = hashFunction(hashName);
  }

  /** The first `count` points of the backend `id`. */
  points(id: string, count: number): Uint32Array {
    let points = this.byId.get(id);
    if (points === undefined || points.length < count) {
      points = this.compute(id, count);
      this.byId.set(id, points);
    }
    return points.length === count ? points : points.subarray(0, count);
  }

  /** Forgets the backends that are not in `ids`. */
  retain(ids: ReadonlySet<string>): void {
    for (const id of this.byId.keys()) if (!ids.has(id)) this.byId.delete(id);
  }

  private compute(id: string, count: number): Uint32Array {
    const points = new Uint32Array(count);
    if (this.hashName === "md5") {
      for (let d = 0; d * 4 < count; d++) {
        const digest = md5Digest(`${id}-${d}`);
        for (let k = 0; k < 4 && d * 4 + k < count; k++) points[d * 4 + k] = ketamaPoint(digest, k);
      }
    } else {
      for (let i = 0; i < count; i++) points[i] = this.hash(`${id}-${i}`);
    }
    return points;
  }
}

/**
 * Builds the ring. Backends of weight 0 get no points; others get `round(vnodes × weight)`
 * (at least one; scaled down together beyond MAX_RING_POINTS), taken from `cache`. Equal points keep list order (the sort is stable).
 */
export function buildHashRing<B extends Backend>(
  backends: readonly B[],
  vnodes: number,
  cache: RingPointCache,
): HashRing<B> {
  let requested = 0;
  for (const backend of backends) if (backend.weight > 0) requested += vnodes * backend.weight;
  // Large weights times many vnodes would make a ring of hundreds of millions of points:
  // past the bound, every backend's count shrinks in proportion, keeping the shares.
  const scale = requested > MAX_RING_POINTS ? MAX_RING_POINTS / requested : 1;
  const counts: number[] = [];
  let total = 0;
  for (const backend of backends) {
    const count = backend.weight > 0 ? Math.max(1, Math.round(vnodes * backend.weight * scale)) : 0;
    counts.push(count);
    total += count;
  }
  cache.retain(new Set(backends.map((backend) => backend.id)));
  const points = new Uint32Array(total);
  const indices = new Uint32Array(total);
  let n = 0;
  for (let b = 0; b < backends.length; b++) {
    const own = cache.points(backends[b].id, counts[b]);
    points.set(own, n);
    indices.fill(b, n, n + own.length);
    n += own.length;
  }
  radixSortPairs(points, indices);
  const owners: B[] = new Array(total);
  for (let i = 0; i < total; i++) owners[i] = backends[indices[i]];
  // About one point per prefix, at most 2^16 prefixes (a 256 KB index).
  const bits = Math.min(16, Math.max(1, Math.ceil(Math.log2(total + 1))));
  const shift = 32 - bits;
  const prefixes = 2 ** bits;
  const start = new Uint32Array(prefixes + 1);
  let i = 0;
  for (let prefix = 0; prefix <= prefixes; prefix++) {
    while (i < total && points[i] >>> shift < prefix) i++;
    start[prefix] = i;
  }
  return { points, owners, start, shift };
}

/** Index of the first point at or after `hash`, wrapping to 0 past the last one. */
export function ringIndex<B extends Backend>(ring: HashRing<B>, hash: number): number {
  const points = ring.points;
  const prefix = hash >>> ring.shift;
  let i = ring.start[prefix];
  const end = ring.start[prefix + 1];
  while (i < end && points[i] < hash) i++;
  return i === points.length ? 0 : i;
}

/**
 * Remembers the backends and weights a table was built from, so `update` (called on every
 * health or overload change) rebuilds only when membership or a weight really changed.
 */
export class MembershipSnapshot<B extends Backend> {
  private backends: readonly B[] = [];
  private weights: number[] = [];

  /** True (and remembers the new state) when the list or any weight differs from before. */
  changed(backends: readonly B[]): boolean {
    let same = backends.length === this.backends.length;
    for (let i = 0; same && i < backends.length; i++) {
      same = backends[i] === this.backends[i] && backends[i].weight === this.weights[i];
    }
    if (same) return false;
    this.backends = backends.slice();
    this.weights = backends.map((backend) => backend.weight);
    return true;
  }
}

/** True when some backend may take new work; guards walks that would otherwise visit all. */
export function anySchedulable(backends: readonly Backend[]): boolean {
  for (const backend of backends) if (isSchedulable(backend)) return true;
  return false;
}

/**
 * Sorts `keys` ascending and moves `values` along: a stable LSD radix sort in two 16-bit
 * passes, linear in the point count (a comparison sort of 800,000 points took ~100 ms).
 */
function radixSortPairs(keys: Uint32Array, values: Uint32Array): void {
  const n = keys.length;
  const tempKeys = new Uint32Array(n);
  const tempValues = new Uint32Array(n);
  const counts = new Uint32Array(65537);
  radixPass(keys, values, tempKeys, tempValues, counts, 0);
  counts.fill(0);
  radixPass(tempKeys, tempValues, keys, values, counts, 16);
}

function radixPass(
  fromKeys: Uint32Array,
  fromValues: Uint32Array,
  toKeys: Uint32Array,
  toValues: Uint32Array,
  counts: Uint32Array,
  shift: number,
): void {
  const n = fromKeys.length;
  for (let i = 0; i < n; i++) counts[((fromKeys[i] >>> shift) & 0xffff) + 1]++;
  for (let d = 1; d <= 65536; d++) counts[d] += counts[d - 1];
  for (let i = 0; i < n; i++) {
    const digit = (fromKeys[i] >>> shift) & 0xffff;
    const at = counts[digit]++;
    toKeys[at] = fromKeys[i];
    toValues[at] = fromValues[i];
  }
}
