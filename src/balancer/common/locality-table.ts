/**
 * The key → entry table of lblc and lblcr, with the garbage collection of
 * net/netfilter/ipvs/ip_vs_lblc.c (and ip_vs_lblcr.c), driven by the injected clock instead of
 * a kernel timer: every 60 s a check runs; every 30th check (counted only while the table is
 * within 16 × 1024 entries) collects entries unused for the expiration time (24 h by
 * default); a check that finds more than 16 × 1024 entries collects entries unused for 6 min,
 * up to 4/3 of the excess (at most half the size).
 *
 * Checks run at the first pick after they fall due; when picks pause, the checks missed are
 * replayed at their own times (at most 60 of them). The kernel walks its hash buckets from a
 * rover; this table walks entries in insertion order, which only changes which stale entries
 * a partial check reaches first. Unlike the kernel, memory is hard-bounded: at 4 × 16 × 1024
 * entries a new entry first collects entries unused for 6 min, then, if the table is still
 * above three quarters of the bound, the oldest-created entries down to it.
 */

/** Interval of the kernel's periodic check (CHECK_EXPIRE_INTERVAL). */
export const CHECK_EXPIRE_INTERVAL_MS = 60_000;
/** Entries unused this long are collected when the table is over its size (ENTRY_TIMEOUT). */
export const ENTRY_TIMEOUT_MS = 6 * 60_000;
/** Default of the lblc_expiration / lblcr_expiration sysctls. */
export const DEFAULT_EXPIRATION_MS = 24 * 60 * 60_000;
/** Every this many quiet checks, a full expiration check runs (COUNT_FOR_FULL_EXPIRATION). */
export const COUNT_FOR_FULL_EXPIRATION = 30;
/** The kernel's table size target: IP_VS_LBLC_TAB_SIZE × 16. */
export const TABLE_MAX_SIZE = 16 * 1024;
/** ballast's hard bound on entries, so a flood of distinct keys cannot exhaust memory. */
export const TABLE_HARD_LIMIT = 4 * TABLE_MAX_SIZE;

/** The part of an entry the table manages. */
export interface LocalityEntry {
  /** Clock ms of the entry's latest lookup. */
  lastUse: number;
}

/** Most checks replayed after a pause; beyond it the state would only cycle. */
const MAX_REPLAYED_CHECKS = 2 * COUNT_FOR_FULL_EXPIRATION;

/** Key → entry map with the kernel's clock-driven collection and a hard size bound. */
export class LocalityTable<E extends LocalityEntry> {
  private readonly entries = new Map<string, E>();
  private readonly expirationMs: number;
  /** Clock ms of the next periodic check; NaN until the first use. */
  private nextCheck = Number.NaN;
  private counter = 1;

  constructor(expirationMs: number = DEFAULT_EXPIRATION_MS) {
    this.expirationMs = expirationMs;
  }

  /** Number of entries. */
  get size(): number {
    return this.entries.size;
  }

  /** The entry for `key`, marked used at `now`; runs any periodic check that is due first. */
  lookup(key: string, now: number): E | undefined {
    if (!(now < this.nextCheck)) this.runDueChecks(now);
    const entry = this.entries.get(key);
    if (entry !== undefined) entry.lastUse = now;
    return entry;
  }

  /** Adds an entry, keeping the table within its hard bound. */
  insert(key: string, entry: E, now: number): void {
    if (this.entries.size >= TABLE_HARD_LIMIT) this.makeRoom(now);
    this.entries.set(key, entry);
  }

  /** Removes every entry for which `drop` returns true (membership changes). */
  removeWhere(drop: (entry: E) => boolean): void {
    for (const [key, entry] of this.entries) if (drop(entry)) this.entries.delete(key);
  }

  private runDueChecks(now: number): void {
    if (Number.isNaN(this.nextCheck)) {
      this.nextCheck = now + CHECK_EXPIRE_INTERVAL_MS;
      return;
    }
    const due = 1 + Math.floor((now - this.nextCheck) / CHECK_EXPIRE_INTERVAL_MS);
    const first = due - Math.min(due, MAX_REPLAYED_CHECKS);
    for (let i = first; i < due; i++)
      this.checkExpire(this.nextCheck + i * CHECK_EXPIRE_INTERVAL_MS);
    this.nextCheck += due * CHECK_EXPIRE_INTERVAL_MS;
  }

  /** ip_vs_lblc_check_expire, run at clock time `at`. */
  private checkExpire(at: number): void {
    if (this.counter % COUNT_FOR_FULL_EXPIRATION === 0) {
      this.collect(at - this.expirationMs, Number.POSITIVE_INFINITY);
      this.counter = 1;
      return;
    }
    const size = this.entries.size;
    if (size <= TABLE_MAX_SIZE) {
      this.counter++;
      return;
    }
    const goal = Math.min(Math.floor(((size - TABLE_MAX_SIZE) * 4) / 3), TABLE_MAX_SIZE / 2);
    this.collect(at - ENTRY_TIMEOUT_MS, goal);
  }

  /** Deletes up to `goal` entries last used at or before `usedBy`; returns how many. */
  private collect(usedBy: number, goal: number): number {
    let removed = 0;
    for (const [key, entry] of this.entries) {
      if (removed >= goal) break;
      if (entry.lastUse <= usedBy) {
        this.entries.delete(key);
        removed++;
      }
    }
    return removed;
  }

  private makeRoom(now: number): void {
    const target = (TABLE_HARD_LIMIT * 3) / 4;
    this.collect(now - ENTRY_TIMEOUT_MS, this.entries.size - target);
    if (this.entries.size <= target) return;
    // Most entries are in recent use: drop the oldest-created ones (they re-learn on next
    // use) down to the target, so the next inserts do not scan again.
    for (const key of this.entries.keys()) {
      if (this.entries.size <= target) break;
      this.entries.delete(key);
    }
  }
}

/**
 * The pool's members as of the last update, by id. lblc and lblcr keep table entries that
 * point to a backend which left the pool, as the kernel does: its ip_vs_dest lives on while
 * an entry holds a reference, without IP_VS_DEST_F_AVAILABLE, and adding the same address
 * again revives that very dest. Here an entry keeps the backend object it saw and resolves
 * it by id at pick time: the current member with that id (the same object, or the one that
 * replaced it), or undefined while the id is out of the pool. `epoch` changes with every
 * change of membership, so an entry resolved in the current epoch need not look again: the
 * hot path stays one integer comparison.
 */
export class MembersById<B extends { readonly id: string }> {
  /** A copy of the last list, because the caller may change its array in place. */
  private list: B[] = [];
  private byId = new Map<string, B>();
  /** Bumped whenever the list changes; 0 is never current, so new entries resolve once. */
  epoch = 1;

  /** Records the new members; rebuilds the index only when the list changed. */
  update(backends: readonly B[]): void {
    const list = this.list;
    let same = backends.length === list.length;
    for (let i = 0; same && i < backends.length; i++) same = backends[i] === list[i];
    if (same) return;
    this.list = backends.slice();
    this.epoch++;
    this.byId = new Map();
    for (const backend of backends) this.byId.set(backend.id, backend);
  }

  /** The member now holding `backend`'s id, or undefined when that id is not in the pool. */
  resolve(backend: B): B | undefined {
    return this.byId.get(backend.id);
  }
}
