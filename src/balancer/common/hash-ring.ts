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
  return { points, owners };
}

/** Index of the first point at or after `hash`, wrapping to 0 past the last one. */
export function ringIndex(points: Uint32Array, hash: number): number {
  let low = 0;
  let high = points.length;
  while (low < high) {
    const mid = (low + high) >>> 1;
    if (points[mid] < hash) low = mid + 1;
    else high = mid;
  }
  return low === points.length ? 0 : low;
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
