/**
 * Upstream connection reuse: one SocketPool (keep-alive sockets, bounded) per backend
 * address. The idle timeout is kept below the backend's own so that a request is never
 * written onto a socket the backend is just closing (nginx `keepalive_timeout` upstream,
 * HAProxy `http-reuse`).
 */
import { formatHostPort } from "../pool/backend.js";
import { SocketPool } from "./upstream/socket-pool.js";

/** Timeouts and sizes of the upstream side, from the listener config. */
export interface UpstreamOptions {
  connectTimeoutMs: number;
  /** Time to the response head → 504. */
  responseTimeoutMs: number;
  /** Longest silence between two body chunks. */
  bodyTimeoutMs: number;
  /** Idle keep-alive sockets are closed after this. */
  idleTimeoutMs: number;
  /** Sockets per backend; 0 = no reuse (a new connection per request). */
  keepalive: number;
  maxHeaderSize: number;
}

/** A pool unused this long, with nothing in it, is closed (backends come and go). */
const UNUSED_POOL_MS = 5 * 60_000;

/** The keep-alive pools of one listener, by backend address. */
export class Upstreams {
  private readonly byAddress = new Map<string, SocketPool>();
  /** Per backend object, so the hot path builds no address string. */
  private byTarget = new WeakMap<object, SocketPool>();
  /** Pools used since the last sweep. */
  private readonly used = new Set<SocketPool>();
  private readonly sweeper: NodeJS.Timeout;

  constructor(private options: UpstreamOptions) {
    // Backends from the registry or the admin API come and go; without a sweep every
    // address ever seen would keep its pool.
    this.sweeper = setInterval(() => this.sweep(), UNUSED_POOL_MS);
    this.sweeper.unref();
  }

  /** The pool for a backend (or sorry server) at host:port, created on first use. */
  get(target: { readonly host: string; readonly port: number }): SocketPool {
    let pool = this.byTarget.get(target);
    if (pool === undefined || pool.closed) {
      const address = formatHostPort(target.host, target.port);
      pool = this.byAddress.get(address);
      if (pool === undefined) {
        pool = this.create(target.host, target.port);
        this.byAddress.set(address, pool);
      }
      this.byTarget.set(target, pool);
    }
    this.used.add(pool);
    return pool;
  }

  /**
   * Applies changed options: existing pools finish their requests and close, new ones are
   * made on demand with the new settings.
   */
  configure(options: UpstreamOptions): void {
    const same = JSON.stringify(options) === JSON.stringify(this.options);
    this.options = options;
    if (same) return;
    const old = [...this.byAddress.values()];
    this.byAddress.clear();
    this.byTarget = new WeakMap();
    for (const pool of old) pool.close().catch(() => {});
  }

  /** Closes every pool: gracefully (requests finish) or at once. */
  async close(graceful: boolean): Promise<void> {
    clearInterval(this.sweeper);
    const pools = [...this.byAddress.values()];
    this.byAddress.clear();
    await Promise.all(
      pools.map((pool) => (graceful ? pool.close() : pool.destroy()).catch(() => {})),
    );
  }

  /** Closes pools not used since the previous sweep and holding no request. */
  private sweep(): void {
    for (const [address, pool] of this.byAddress) {
      if (this.used.has(pool)) continue;
      if (pool.busy > 0) continue;
      this.byAddress.delete(address);
      pool.close().catch(() => {});
    }
    this.used.clear();
  }

  private create(host: string, port: number): SocketPool {
    const o = this.options;
    return new SocketPool(host, port, {
      // The bound is on all sockets, not only the idle ones: beyond it requests wait in the
      // pool's queue (their lease stays "opening", counted as inactive).
      maxConnections: o.keepalive,
      closeEach: o.keepalive === 0,
      connectTimeoutMs: o.connectTimeoutMs,
      responseTimeoutMs: o.responseTimeoutMs,
      bodyTimeoutMs: o.bodyTimeoutMs,
      idleTimeoutMs: o.idleTimeoutMs,
      maxHeaderSize: o.maxHeaderSize,
    });
  }
}
