/**
 * Locality-based least connection with replication (IPVS `lblcr`), after Linux 6.x
 * net/netfilter/ipvs/ip_vs_lblcr.c: a table maps each key to a *set* of backends.
 *
 * - Hit: the set's weighted-least-connection member is chosen (ip_vs_dest_set_min: skipping
 *   members that are unavailable, overloaded, of weight 0 or out of the pool). If the set has
 *   more than one member and was not modified for `expirationMs`, its weighted-most-connection
 *   member is removed. If no member could be chosen, or the chosen one is lblc-overloaded,
 *   weighted least connection over the whole pool chooses and the backend joins the set.
 * - Miss: weighted least connection chooses and a set is created with it.
 *
 * As in the kernel, a set lists its newest member first, so ties go to the newest member,
 * and a member that leaves the pool stays in its sets: skipped while away, still counted in
 * the set's size and still removable as the busiest, and served again if it comes back with
 * the same id (the kernel's dest lives on while a set references it). Entries expire as
 * common/locality-table.ts describes.
 */
import {
  connectionOverhead,
  isLocalityOverloaded,
  pickWeightedLeastConnection,
} from "./common/ipvs.js";
import { DEFAULT_EXPIRATION_MS, LocalityTable, MembersById } from "./common/locality-table.js";
import { isSchedulable } from "./common/schedulable.js";
import type { AlgorithmInfo, Backend, Balancer, BalancerOptions, PickContext } from "./types.js";

interface ReplicaSet<B> {
  /**
   * Members, newest first (the kernel's list_add at the head), each as last seen in the
   * pool: one that left keeps its place and its last known weight and counts.
   */
  members: B[];
  /** Clock ms of the latest change to `members`. */
  lastMod: number;
  lastUse: number;
}

class LocalityLeastConnectionsReplicated<B extends Backend> implements Balancer<B> {
  readonly name = "lblcr";
  private backends: readonly B[] = [];
  private readonly pool = new MembersById<B>();
  private readonly expirationMs: number;
  private readonly table: LocalityTable<ReplicaSet<B>>;

  constructor(options: BalancerOptions) {
    this.expirationMs = options.expirationMs ?? DEFAULT_EXPIRATION_MS;
    this.table = new LocalityTable(this.expirationMs);
  }

  update(backends: readonly B[]): void {
    this.backends = backends;
    this.pool.update(backends);
  }

  pick(context: PickContext): B | undefined {
    const key = context.key ?? "";
    const now = context.now;
    const entry = this.table.lookup(key, now);
    if (entry === undefined) {
      const chosen = pickWeightedLeastConnection(this.backends);
      if (chosen !== undefined) {
        this.table.insert(key, { members: [chosen], lastMod: now, lastUse: now }, now);
      }
      return chosen;
    }
    const least = this.leastInSet(entry.members);
    if (entry.members.length > 1 && now > entry.lastMod + this.expirationMs) {
      // The set has been stable for a long time: shrink it by its busiest member.
      const most = weightedMostConnection(entry.members);
      if (most !== undefined) {
        entry.members.splice(entry.members.indexOf(most), 1);
        entry.lastMod = now;
      }
    }
    if (least !== undefined && !isLocalityOverloaded(least, this.backends)) return least;
    const chosen = pickWeightedLeastConnection(this.backends);
    if (chosen === undefined) return undefined;
    if (!hasMember(entry.members, chosen)) {
      entry.members.unshift(chosen);
      entry.lastMod = now;
    }
    return chosen;
  }

  /**
   * ip_vs_dest_set_min: weighted least connection over the members now in the pool, each
   * refreshed to the pool's current object for its id (a backend that came back).
   */
  private leastInSet(members: B[]): B | undefined {
    let least: B | undefined;
    let leastOverhead = 0;
    for (let i = 0; i < members.length; i++) {
      const member = this.pool.resolve(members[i]);
      if (member === undefined) continue; // out of the pool: the kernel's dest without AVAILABLE
      members[i] = member;
      if (!isSchedulable(member)) continue;
      const overhead = connectionOverhead(member);
      if (least === undefined || leastOverhead * member.weight > overhead * least.weight) {
        least = member;
        leastOverhead = overhead;
      }
    }
    return least;
  }
}

/** True when `members` holds `backend`'s id (the kernel compares dest pointers, one per id). */
function hasMember<B extends Backend>(members: readonly B[], backend: B): boolean {
  for (const member of members) if (member.id === backend.id) return true;
  return false;
}

/**
 * ip_vs_dest_set_max: the first member of positive weight, replaced by a later one `d` of
 * positive weight when `overhead(most) * weight(d) < overhead(d) * weight(most)`.
 * Availability does not matter here: a down or departed member is as removable as a busy one.
 */
function weightedMostConnection<B extends Backend>(members: readonly B[]): B | undefined {
  let most: B | undefined;
  let mostOverhead = 0;
  for (const member of members) {
    if (member.weight <= 0) continue;
    const overhead = connectionOverhead(member);
    if (most === undefined || mostOverhead * member.weight < overhead * most.weight) {
      most = member;
      mostOverhead = overhead;
    }
  }
  return most;
}

export const localityLeastConnectionsReplicated: AlgorithmInfo = {
  name: "lblcr",
  description:
    "locality-based least connection with replication: a key maps to a set of backends (IPVS lblcr)",
  usesKey: true,
  weighted: true,
  create: (options = {}) => new LocalityLeastConnectionsReplicated(options),
};
