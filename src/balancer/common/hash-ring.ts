/**
 * The consistent hash ring (Karger et al. 1997, libketama) shared by `chash` and `bounded`:
 * each backend owns `vnodes × weight` points on a 32-bit circle; a key belongs to the first
 * point at or after its hash, wrapping.
 */
import type { Backend, HashName } from "../types.js";
import { hashFunction, ketamaPoint, md5Digest } from "./hash.js";

/** ketama's 160 points per backend of weight 1 (40 MD5 digests × 4 points). */
export const DEFAULT_VNODES = 160;

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

/** Index-packing bound for the sort below: hash × 2^21 + index stays an exact double. */
const INDEX_BITS = 2 ** 21;

/**
 * Builds the ring. Backends of weight 0 get no points; others get `round(vnodes × weight)`
 * (at least one). Point `i` of a backend hashes "<id>-<i>"; with md5 each digest of
 * "<id>-<d>" gives four points, as libketama does. Ties are broken by list order so the
 * ring is the same whatever the sort's stability.
 */
export function buildHashRing<B extends Backend>(
  backends: readonly B[],
  vnodes: number,
  hashName: HashName,
): HashRing<B> {
  if (backends.length >= INDEX_BITS) throw new Error("hash ring: too many backends");
  const counts: number[] = [];
  let total = 0;
  for (const backend of backends) {
    const count = backend.weight > 0 ? Math.max(1, Math.round(vnodes * backend.weight)) : 0;
    counts.push(count);
    total += count;
  }
  const packed = new Float64Array(total);
  const hash = hashFunction(hashName);
  let n = 0;
  for (let b = 0; b < backends.length; b++) {
    const id = backends[b].id;
    const count = counts[b];
    if (hashName === "md5") {
      for (let d = 0; n < total && d * 4 < count; d++) {
        const digest = md5Digest(`${id}-${d}`);
        for (let k = 0; k < 4 && d * 4 + k < count; k++) {
          packed[n++] = ketamaPoint(digest, k) * INDEX_BITS + b;
        }
      }
    } else {
      for (let i = 0; i < count; i++) packed[n++] = hash(`${id}-${i}`) * INDEX_BITS + b;
    }
  }
  packed.sort();
  const points = new Uint32Array(total);
  const owners: B[] = new Array(total);
  for (let i = 0; i < total; i++) {
    const value = packed[i];
    const index = value % INDEX_BITS;
    points[i] = (value - index) / INDEX_BITS;
    owners[i] = backends[index];
  }
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
  for (const backend of backends) if (backend.available && backend.weight > 0) return true;
  return false;
}
