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
 * the same id (the kernel's dest lives on while a set references it). Unlike the kernel, a
 * set is bounded (MAX_SET_SIZE). Entries expire as common/locality-table.ts describes.
 */
import {
  connectionOverhead,
  isLocalityOverloaded,
  pickWeightedLeastConnection,
} from "./common/ipvs.js";
import { DEFAULT_EXPIRATION_MS, LocalityTable, MembersById } from "./common/locality-table.js";
import { isSchedulable } from "./common/schedulable.js";
import type { AlgorithmInfo, Backend, Balancer, BalancerOptions, PickContext } from "./types.js";

/** One member of a set, as last seen in the pool. */
interface SetMember<B> {
  /** The pool's object for this id; one that left keeps its last known weight and counts. */
  backend: B;
  /** False while the id is out of the pool (the kernel's dest without AVAILABLE). */
  inPool: boolean;
}

interface ReplicaSet<B> {
  /** Members, newest first (the kernel's list_add at the head). */
  members: SetMember<B>[];
  /** The pool's epoch in which `members` were last resolved. */
  epoch: number;
  /** Clock ms of the latest change to `members`. */
  lastMod: number;
  lastUse: number;
}

/**
 * ballast's bound on a set, which the kernel does not have: departed members stay in a set,
 * so a pool whose backends keep being replaced by new ones (a registry) would grow a hot
 * key's set by one member per turnover, without end. Past the bound the oldest departed
 * member goes; members in the pool are never dropped for it.
 */
export const MAX_SET_SIZE = 64;

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
        const members = [{ backend: chosen, inPool: true }];
        this.table.insert(
          key,
          { members, epoch: this.pool.epoch, lastMod: now, lastUse: now },
          now,
        );
      }
      return chosen;
    }
    if (entry.epoch !== this.pool.epoch) this.resolve(entry);
    const members = entry.members;
    const least = leastInSet(members);
    if (members.length > 1 && now > entry.lastMod + this.expirationMs) {
      // The set has been stable for a long time: shrink it by its busiest member.
      const most = weightedMostConnection(members);
      if (most >= 0) {
        members.splice(most, 1);
        entry.lastMod = now;
      }
    }
    if (least !== undefined && !isLocalityOverloaded(least, this.backends)) return least;
    const chosen = pickWeightedLeastConnection(this.backends);
    if (chosen === undefined) return undefined;
    if (!hasMember(members, chosen)) {
      members.unshift({ backend: chosen, inPool: true });
      entry.lastMod = now;
      if (members.length > MAX_SET_SIZE) dropOldestDeparted(members);
    }
    return chosen;
  }

  /** Points every member at the pool's current object for its id, or marks it away. */
  private resolve(entry: ReplicaSet<B>): void {
    for (const member of entry.members) {
      const current = this.pool.resolve(member.backend);
      member.inPool = current !== undefined;
      if (current !== undefined) member.backend = current;
    }
    entry.epoch = this.pool.epoch;
  }
}

/**
 * ip_vs_dest_set_min: weighted least connection over the members in the pool that are
 * schedulable (available, not overloaded, of positive weight); ties to the newest.
 */
function leastInSet<B extends Backend>(members: readonly SetMember<B>[]): B | undefined {
  let least: B | undefined;
  let leastOverhead = 0;
  for (const member of members) {
    const backend = member.backend;
    if (!member.inPool || !isSchedulable(backend)) continue;
    const overhead = connectionOverhead(backend);
    if (least === undefined || leastOverhead * backend.weight > overhead * least.weight) {
      least = backend;
      leastOverhead = overhead;
    }
  }
  return least;
}

/** Removes the oldest (last listed) member that is out of the pool, if any. */
function dropOldestDeparted<B>(members: SetMember<B>[]): void {
  for (let i = members.length - 1; i >= 0; i--) {
    if (!members[i].inPool) {
      members.splice(i, 1);
      return;
    }
  }
}

/** True when `members` holds `backend`'s id (the kernel compares dest pointers, one per id). */
function hasMember<B extends Backend>(members: readonly SetMember<B>[], backend: B): boolean {
  for (const member of members) if (member.backend.id === backend.id) return true;
  return false;
}

/**
 * ip_vs_dest_set_max: the index of the first member of positive weight, replaced by a later
 * one `d` of positive weight when `overhead(most) * weight(d) < overhead(d) * weight(most)`;
 * -1 when none. Availability does not matter here: a down or departed member is as
 * removable as a busy one.
 */
function weightedMostConnection<B extends Backend>(members: readonly SetMember<B>[]): number {
  let most = -1;
  let mostOverhead = 0;
  let mostWeight = 0;
  for (let i = 0; i < members.length; i++) {
    const backend = members[i].backend;
    if (backend.weight <= 0) continue;
    const overhead = connectionOverhead(backend);
    if (most < 0 || mostOverhead * backend.weight < overhead * mostWeight) {
      most = i;
      mostOverhead = overhead;
      mostWeight = backend.weight;
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
