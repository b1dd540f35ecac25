/**
 * LVS persistence (`ipvsadm -p`): a client address keeps going to the same backend while it
 * has connections, and for the persistence timeout after its last one ends, as IPVS's
 * persistence templates do. One table per pool, shared by its TCP and UDP listeners (as LVS
 * groups services under one firewall mark), bounded in size.
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
}

/** What the admin API shows of one binding. */
export interface PersistenceRow {
  client: string;
  backend: string;
  connections: number;
  /** ms left before the binding expires; -1 while the client still has connections. */
  expiresInMs: number;
}

/** Default bound on bindings per pool; LRU idle bindings go first when it is reached. */
export const DEFAULT_PERSISTENCE_ENTRIES = 65_536;
/** How many of the oldest entries eviction looks at for one without connections. */
const EVICTION_SCAN = 32;

/** A bounded client → backend table with LVS persistence semantics. */
export class PersistenceTable {
  /** Map order is least recently used first: entries are re-inserted when used. */
  private readonly entries = new Map<string, PersistenceEntry>();

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
      entry.backend = backend;
      entry.connections++;
      this.entries.set(client, entry);
      return;
    }
    if (this.entries.size >= this.maxEntries) this.evictOne();
    this.entries.set(client, { backend, connections: 1, expiresAt: 0 });
  }

  /** A bound client's connection moved to another backend (connect failover). */
  rebind(client: string, backend: BackendState): void {
    const entry = this.entries.get(client);
    if (entry !== undefined) entry.backend = backend;
  }

  /** A connection of `client` ended; the binding lingers for the persistence timeout. */
  detach(client: string): void {
    const entry = this.entries.get(client);
    if (entry === undefined || entry.connections === 0) return;
    entry.connections--;
    if (entry.connections === 0) entry.expiresAt = this.pool.clock() + this.pool.persistenceMs;
  }

  /** Forgets every expired binding; returns how many were removed. */
  sweep(): number {
    const now = this.pool.clock();
    let removed = 0;
    for (const [client, entry] of this.entries) {
      if (entry.connections === 0 && entry.expiresAt <= now) {
        this.entries.delete(client);
        removed++;
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
      rows.push({
        client,
        backend: entry.backend.id,
        connections: entry.connections,
        expiresInMs: entry.connections > 0 ? -1 : Math.round(entry.expiresAt - now),
      });
    }
    return rows;
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
