/**
 * Consistent hashing with bounded loads (`bounded`), after Mirrokni, Thorup and
 * Zadimoghaddam (SODA 2018). Keys hash onto the same ring as `chash`, but a backend already
 * holding its share takes no more: with load factor c (1.25 by default), m current
 * assignments and n usable backends, a backend's capacity is `ceil(c × (m + 1) / n)`, the
 * new assignment counted. With unequal weights the capacity is scaled by the backend's
 * weight share: `ceil(c × (m + 1) × weight / totalWeight)`. A key walks the ring past full
 * and unavailable backends to the first that has room.
 *
 * Assignments are the pool's live counts: `active + inactive` of each usable backend
 * (available, weight > 0); connections held by unusable backends are not part of the bins
 * being balanced. Since the capacities add up to at least c × (m + 1) > m, some usable
 * backend always has room, so a pick fails only when no backend is usable.
 */

import { hashFunction, type StringHash } from "./common/hash.js";
import {
  buildHashRing,
  DEFAULT_VNODES,
  emptyHashRing,
  type HashRing,
  MembershipSnapshot,
  RingPointCache,
  ringIndex,
} from "./common/hash-ring.js";
import { isSchedulable } from "./common/schedulable.js";
import type {
  AlgorithmInfo,
  Backend,
  Balancer,
  BalancerOptions,
  HashName,
  PickContext,
} from "./types.js";

/** The paper's example and HAProxy's `hash-balance-factor 125`. */
export const DEFAULT_LOAD_FACTOR = 1.25;

class BoundedLoad<B extends Backend> implements Balancer<B> {
  readonly name = "bounded";
  private readonly vnodes: number;
  private readonly hash: StringHash;
  private readonly loadFactor: number;
  private readonly snapshot = new MembershipSnapshot<B>();
  private readonly pointCache: RingPointCache;
  private backends: readonly B[] = [];
  private ring: HashRing<B> = emptyHashRing();

  constructor(options: BalancerOptions) {
    this.vnodes = options.vnodes ?? DEFAULT_VNODES;
    const hashName: HashName = options.hash ?? "xxhash32";
    this.hash = hashFunction(hashName);
    this.pointCache = new RingPointCache(hashName);
    const factor = options.loadFactor ?? DEFAULT_LOAD_FACTOR;
    if (!(factor >= 1)) throw new Error(`bounded: load_factor must be at least 1, got ${factor}`);
    this.loadFactor = factor;
  }

  update(backends: readonly B[]): void {
    this.backends = backends;
    if (this.snapshot.changed(backends)) {
      this.ring = buildHashRing(backends, this.vnodes, this.pointCache);
    }
  }

  pick(context: PickContext): B | undefined {
    const { points, owners } = this.ring;
    const total = points.length;
    if (total === 0) return undefined;
    let index = ringIndex(this.ring, this.hash(context.key ?? ""));
    const first = owners[index];
    // An idle usable backend is always under its cap (at least 1): skip the O(n) count.
    if (isSchedulable(first) && first.active + first.inactive === 0) return first;
    // m and the weight total over the usable backends, read now: counts change between updates.
    let assigned = 0;
    let totalWeight = 0;
    const backends = this.backends;
    for (let i = 0; i < backends.length; i++) {
      const backend = backends[i];
      const weight = backend.weight;
      if (weight > 0 && backend.available && !backend.overloaded) {
        assigned += backend.active + backend.inactive;
        totalWeight += weight;
      }
    }
    if (totalWeight === 0) return undefined;
    const perWeight = (this.loadFactor * (assigned + 1)) / totalWeight;
    for (let step = 0; step < total; step++) {
      const owner = owners[index];
      if (
        isSchedulable(owner) &&
        owner.active + owner.inactive < Math.ceil(perWeight * owner.weight)
      ) {
        return owner;
      }
      if (++index === total) index = 0;
    }
    // Unreachable: the capacities add up to more than m, so some usable backend has room.
    return undefined;
  }
}

export const boundedLoad: AlgorithmInfo = {
  name: "bounded",
  description:
    "consistent hashing with bounded loads: a ring where no backend exceeds c × its share",
  usesKey: true,
  weighted: true,
  create: (options = {}) => new BoundedLoad(options),
};
