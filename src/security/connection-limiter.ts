/**
 * Concurrent connection limits: per client address (nginx `limit_conn`, HAProxy
 * `sc_conn_cur` of a stick-table) and for the whole listener (HAProxy frontend `maxconn`).
 * Connections are counted whether or not a limit is set, so a limit switched on by a reload
 * sees the connections already open.
 */

/** Why a connection was refused. */
export type ConnectionRefusal = "max_connections" | "connections_per_client";

/** Counts open connections per client and in total, and refuses those over a limit. */
export class ConnectionLimiter {
  /** Open connections by client address; an entry goes when its count reaches 0. */
  private readonly byClient = new Map<string, number>();
  private total = 0;
  private perClientLimit = 0;
  private totalLimit = 0;

  /** Limits of 0 are off. */
  constructor(perClient = 0, total = 0) {
    this.configure(perClient, total);
  }

  /** Sets new limits; open connections stay counted and are never closed by it. */
  configure(perClient: number, total: number): void {
    this.perClientLimit = Math.max(0, perClient);
    this.totalLimit = Math.max(0, total);
  }

  /** Counts a new connection of `client`, or says which limit refuses it (not counted). */
  open(client: string): ConnectionRefusal | undefined {
    if (this.totalLimit > 0 && this.total >= this.totalLimit) return "max_connections";
    const current = this.byClient.get(client) ?? 0;
    if (this.perClientLimit > 0 && current >= this.perClientLimit) {
      return "connections_per_client";
    }
    this.byClient.set(client, current + 1);
    this.total++;
    return undefined;
  }

  /** Uncounts a connection that `open` admitted; call exactly once per admitted one. */
  close(client: string): void {
    const current = this.byClient.get(client);
    if (current === undefined) return;
    if (current <= 1) this.byClient.delete(client);
    else this.byClient.set(client, current - 1);
    this.total--;
  }

  /** Connections open on the listener. */
  get openTotal(): number {
    return this.total;
  }

  /** Connections open from `client`. */
  openBy(client: string): number {
    return this.byClient.get(client) ?? 0;
  }

  /** Client addresses with at least one open connection. */
  get clients(): number {
    return this.byClient.size;
  }
}
