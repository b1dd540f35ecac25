/**
 * Locality-based least connection (IPVS `lblc`), after Linux 6.x
 * net/netfilter/ipvs/ip_vs_lblc.c: a table maps each key (the destination address in the
 * kernel; any key here) to a backend. On a hit the cached backend is used when it is
 * available, of positive weight and not lblc-overloaded (more active connections than its
 * weight while some backend has `active * 2 < weight`); otherwise, and on a miss, weighted
 * least connection chooses and the entry is overwritten. The connection-threshold flag
 * (`overloaded`, IP_VS_DEST_F_OVERLOAD) is checked only when choosing anew, as in the
 * kernel: a key stays on its cached backend while that backend is at its threshold.
 *
 * A backend that leaves the pool keeps its entries, as the kernel's dest lives on while an
 * entry references it: while it is away a hit on it counts as unavailable (and is
 * overwritten); if it comes back (same id) before its keys are next used, they go to it
 * again. Entries expire as common/locality-table.ts describes (unused for `expirationMs`,
 * 24 h by default; after 6 min when the table is over 16 × 1024 entries). The kernel's own
 * bucket hash (hash_32 of the address into 1024 chains) only orders its garbage collection;
 * decisions do not depend on it.
 */
import { isLocalityOverloaded, pickWeightedLeastConnection } from "./common/ipvs.js";
import { DEFAULT_EXPIRATION_MS, LocalityTable, MembersById } from "./common/locality-table.js";
import type { AlgorithmInfo, Backend, Balancer, BalancerOptions, PickContext } from "./types.js";

interface CacheEntry<B> {
  backend: B;
  /** The members' epoch in which `backend` was last found in the pool. */
  epoch: number;
  lastUse: number;
}

class LocalityLeastConnections<B extends Backend> implements Balancer<B> {
  readonly name = "lblc";
  private backends: readonly B[] = [];
  private readonly members = new MembersById<B>();
  private readonly table: LocalityTable<CacheEntry<B>>;

  constructor(options: BalancerOptions) {
    this.table = new LocalityTable(options.expirationMs ?? DEFAULT_EXPIRATION_MS);
  }

  update(backends: readonly B[]): void {
    this.backends = backends;
    this.members.update(backends);
  }

  pick(context: PickContext): B | undefined {
    const key = context.key ?? "";
    const entry = this.table.lookup(key, context.now);
    if (entry !== undefined) {
      const members = this.members;
      // Undefined while the backend is out of the pool: the kernel's dest without AVAILABLE.
      const cached = entry.epoch === members.epoch ? entry.backend : members.resolve(entry.backend);
      if (cached !== undefined) {
        entry.backend = cached;
        entry.epoch = members.epoch;
        // Not isSchedulable: the kernel ignores IP_VS_DEST_F_OVERLOAD on a cache hit.
        if (cached.available && cached.weight > 0 && !isLocalityOverloaded(cached, this.backends)) {
          return cached;
        }
      }
    }
    const chosen = pickWeightedLeastConnection(this.backends);
    if (chosen === undefined) return undefined;
    const epoch = this.members.epoch;
    if (entry !== undefined) {
      entry.backend = chosen;
      entry.epoch = epoch;
    } else {
      this.table.insert(key, { backend: chosen, epoch, lastUse: context.now }, context.now);
    }
    return chosen;
  }
}

export const localityLeastConnections: AlgorithmInfo = {
  name: "lblc",
  description:
    "locality-based least connection: a key sticks to its backend until that one is down or busy (IPVS lblc)",
  usesKey: true,
  weighted: true,
  create: (options = {}) => new LocalityLeastConnections(options),
};
