/**
 * LVS persistence (`ipvsadm -p`): a client address keeps going to the same backend while it
 * has connections, and for the persistence timeout after its last one ends, as IPVS's
 * persistence templates do. One table per pool, shared by its TCP and UDP listeners (as LVS
 * groups services under one firewall mark), bounded in size.
 *
 * With `workers: N` each worker holds a table, and the workers share their bindings as
 * HAProxy's peers share stick tables: a worker announces a binding when it makes or changes
 * one, when its last connection ends (the linger starts) and, while connections hold it, every
 * half persistence timeout; the others learn it. When two workers bound the same client at
 * once, the newer binding wins everywhere (at the same millisecond, the smaller backend id).
 */
import type { BackendState } from "./backend.js";
import type { Pool } from "./pool.js";

/** One client's binding. */
interface PersistenceEntry {
  backend: BackendState;
  /** Open connections (TCP) or sessions (UDP) of this client. */
  connections: number;
  /** Pool clock ms after which an entry without connections is forgotten. */
  expiresAt: number;
  /** Wall-clock ms the binding was made: the order workers agree on. */
  since: number;
  /** Pool clock ms of the last announcement to the other workers. */
  announcedAt: number;
  /** The binding came from another worker (`workers: N`). */
  learned: boolean;
}

/** A binding as the workers share it: client, backend id, when it was made (wall ms). */
export type SharedBinding = [client: string, backendId: string, since: number];

/** What the admin API shows of one binding. */
export interface PersistenceRow {
  client: string;
  backend: string;
  connections: number;
  /** ms left before the binding expires; -1 while the client still has connections. */
  expiresInMs: number;
  /** Present when another worker made the binding: this is this worker's copy. */
  learned?: true;
}

/** Default bound on bindings per pool; LRU idle bindings go first when it is reached. */
export const DEFAULT_PERSISTENCE_ENTRIES = 65_536;
/** How many of the oldest entries eviction looks at for one without connections. */
const EVICTION_SCAN = 32;

/** A bounded client → backend table with LVS persistence semantics. */
export class PersistenceTable {
  /** Map order is least recently used first: entries are re-inserted when used. */
  private readonly entries = new Map<string, PersistenceEntry>();
  /** Set with `workers: N`: where this worker's bindings go for the other workers. */
  onAnnounce: ((binding: SharedBinding) => void) | undefined;

  constructor(
    private readonly pool: Pool,
    readonly maxEntries = DEFAULT_PERSISTENCE_ENTRIES,
  ) {}

  /** Number of bindings held, live or lingering. */
  get size(): number {
    return this.entries.size;
  }

  /**
   * The backend a client is bound to, when the binding is still in force and the backend
   * can take work. A backend that went down, is draining, is overloaded or left the pool
   * breaks the binding (LVS expire_nodest_conn), and the client is scheduled afresh. Weight 0 keeps it:
   * a quiesced server still serves its persistent clients, as in LVS by default.
   */
  lookup(client: string): BackendState | undefined {
    const entry = this.entries.get(client);
    if (entry === undefined) return undefined;
    const backend = entry.backend;
    if (entry.connections === 0 && entry.expiresAt <= this.pool.clock()) {
      this.entries.delete(client);
      return undefined;
    }
    if (!backend.available || backend.overloaded || this.pool.get(backend.id) !== backend) {
      return undefined;
    }
    return backend;
  }

  /** A connection of `client` goes to `backend`: bind (or re-bind) and count it. */
  attach(client: string, backend: BackendState): void {
    const entry = this.entries.get(client);
    if (entry !== undefined) {
      this.entries.delete(client);
      entry.connections++;
      this.entries.set(client, entry);
      if (entry.backend !== backend) this.bind(client, entry, backend);
      return;
    }
    if (this.entries.size >= this.maxEntries) this.evictOne();
    const fresh = {
      backend,
      connections: 1,
      expiresAt: 0,
      since: 0,
      announcedAt: 0,
      learned: false,
    };
    this.entries.set(client, fresh);
    this.bind(client, fresh, backend);
  }

  /** A bound client's connection moved to another backend (connect failover). */
  rebind(client: string, backend: BackendState): void {
    const entry = this.entries.get(client);
    if (entry !== undefined && entry.backend !== backend) this.bind(client, entry, backend);
  }

  /** A connection of `client` ended; the binding lingers for the persistence timeout. */
  detach(client: string): void {
    const entry = this.entries.get(client);
    if (entry === undefined || entry.connections === 0) return;
    entry.connections--;
    if (entry.connections === 0) {
      entry.expiresAt = this.pool.clock() + this.pool.persistenceMs;
      this.announce(client, entry);
    }
  }

  /**
   * Another worker's binding. It is taken unless this table holds a newer one for the client;
   * either way a binding without connections here lingers from now on.
   */
  learn(client: string, backend: BackendState, since: number): void {
    const now = this.pool.clock();
    const lingerEnd = now + this.pool.persistenceMs;
    let entry = this.entries.get(client);
    if (entry !== undefined && entry.connections === 0 && entry.expiresAt <= now) {
      this.entries.delete(client);
      entry = undefined;
    }
    if (entry === undefined) {
      if (this.entries.size >= this.maxEntries) this.evictOne();
      this.entries.set(client, {
        backend,
        connections: 0,
        expiresAt: lingerEnd,
        since,
        announcedAt: now,
        learned: true,
      });
      return;
    }
    if (entry.backend !== backend) {
      const older = since < entry.since || (since === entry.since && backend.id > entry.backend.id);
      if (older) return;
      entry.backend = backend;
      entry.since = since;
      entry.learned = true;
    }
    if (entry.connections === 0) entry.expiresAt = Math.max(entry.expiresAt, lingerEnd);
  }

  /**
   * Forgets every expired binding; returns how many were removed. With `workers: N` it also
   * announces again each binding that connections still hold, so the other workers' copies,
   * which only linger, stay in force as long as it does.
   */
  sweep(): number {
    const now = this.pool.clock();
    const reannounceMs = this.pool.persistenceMs / 2;
    let removed = 0;
    for (const [client, entry] of this.entries) {
      if (entry.connections === 0 && entry.expiresAt <= now) {
        this.entries.delete(client);
        removed++;
      } else if (entry.connections > 0 && now - entry.announcedAt >= reannounceMs) {
        this.announce(client, entry);
      }
    }
    return removed;
  }

  /** The bindings, for the admin API and `ballast ctl`. */
  rows(): PersistenceRow[] {
    const now = this.pool.clock();
    const rows: PersistenceRow[] = [];
    for (const [client, entry] of this.entries) {
      if (entry.connections === 0 && entry.expiresAt <= now) continue;
      const row: PersistenceRow = {
        client,
        backend: entry.backend.id,
        connections: entry.connections,
        expiresInMs: entry.connections > 0 ? -1 : Math.round(entry.expiresAt - now),
      };
      if (entry.learned) row.learned = true;
      rows.push(row);
    }
    return rows;
  }

  /** Binds `client` to `backend` now, and tells the other workers. */
  private bind(client: string, entry: PersistenceEntry, backend: BackendState): void {
    entry.backend = backend;
    entry.learned = false;
    // Never earlier than the binding it replaces, whatever the wall clock did meanwhile.
    entry.since = Math.max(Date.now(), entry.since + 1);
    this.announce(client, entry);
  }

  private announce(client: string, entry: PersistenceEntry): void {
    if (this.onAnnounce === undefined) return;
    entry.announcedAt = this.pool.clock();
    this.onAnnounce([client, entry.backend.id, entry.since]);
  }

  /** Drops the least recently used binding, preferring one without connections. */
  private evictOne(): void {
    let scanned = 0;
    let oldest: string | undefined;
    for (const [client, entry] of this.entries) {
      oldest ??= client;
      if (entry.connections === 0) {
        this.entries.delete(client);
        return;
      }
      if (++scanned >= EVICTION_SCAN) break;
    }
    // Every scanned binding has open connections: those keep working, they only lose
    // stickiness for later connections.
    if (oldest !== undefined) this.entries.delete(oldest);
  }
}
