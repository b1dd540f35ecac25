/**
 * Consistent hashing on a ring (`chash`), after Karger et al. 1997 and libketama: each
 * backend owns `vnodes × weight` points (160 per unit of weight by default, as ketama); a key
 * goes to the owner of the first point at or after the key's hash (a prefix index, then a
 * short scan).
 * When that owner is unavailable (down, draining, overloaded) the key walks on to the next
 * point whose owner is, so only the keys of the unavailable backend move, and they spread
 * over the others. With `hash: md5` points and keys are computed exactly as libketama does
 * (at the price of one digest object per pick); the default is the faster xxHash32.
 */

import { hashFunction, type StringHash } from "./common/hash.js";
import {
  anySchedulable,
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

class ConsistentHashRing<B extends Backend> implements Balancer<B> {
  readonly name = "chash";
  private readonly vnodes: number;
  private readonly hash: StringHash;
  private readonly snapshot = new MembershipSnapshot<B>();
  private readonly pointCache: RingPointCache;
  private ring: HashRing<B> = emptyHashRing();
  private backends: readonly B[] = [];

  constructor(options: BalancerOptions) {
    this.vnodes = options.vnodes ?? DEFAULT_VNODES;
    // xxHash32 by default for speed; `md5` builds exactly libketama's ring.
    const hashName: HashName = options.hash ?? "xxhash32";
    this.hash = hashFunction(hashName);
    this.pointCache = new RingPointCache(hashName);
  }

  update(backends: readonly B[]): void {
    this.backends = backends;
    // Availability is read at pick time, so health flips cost nothing here.
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
    if (isSchedulable(first)) return first;
    // Walking a ring whose every backend is down would visit every point; look first.
    if (!anySchedulable(this.backends)) return undefined;
    for (let step = 0; step < total; step++) {
      const owner = owners[index];
      if (isSchedulable(owner)) return owner;
      if (++index === total) index = 0;
    }
    return undefined;
  }
}

export const consistentHashRing: AlgorithmInfo = {
  name: "chash",
  description: "consistent hash ring (ketama): a key keeps its backend while membership changes",
  usesKey: true,
  weighted: true,
  create: (options = {}) => new ConsistentHashRing(options),
};
