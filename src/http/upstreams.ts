/**
 * Upstream connection reuse: one undici Pool (keep-alive sockets, bounded) per backend
 * address. The idle timeout is kept below the backend's own so that a request is never
 * written onto a socket the backend is just closing (nginx `keepalive_timeout` upstream,
 * HAProxy `http-reuse`).
 */
import { Pool as UndiciPool } from "undici";
import { formatHostPort } from "../pool/backend.js";

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

/** The keep-alive pools of one listener, by backend address. */
export class Upstreams {
  private readonly byAddress = new Map<string, UndiciPool>();

  constructor(private options: UpstreamOptions) {}

  /** True when every request must close its upstream connection (keepalive 0). */
  get noReuse(): boolean {
    return this.options.keepalive === 0;
  }

  /** The pool for host:port, created on first use. */
  get(host: string, port: number): UndiciPool {
    const address = formatHostPort(host, port);
    let pool = this.byAddress.get(address);
    if (pool === undefined) {
      pool = this.create(address);
      this.byAddress.set(address, pool);
    }
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
    for (const pool of old) pool.close().catch(() => {});
  }

  /** Closes every pool: gracefully (requests finish) or at once. */
  async close(graceful: boolean): Promise<void> {
    const pools = [...this.byAddress.values()];
    this.byAddress.clear();
    await Promise.all(
      pools.map((pool) => (graceful ? pool.close() : pool.destroy()).catch(() => {})),
    );
  }

  private create(address: string): UndiciPool {
    const o = this.options;
    return new UndiciPool(`http://${address}`, {
      // undici bounds the sockets, not only the idle ones: beyond `connections` requests
      // wait in the pool's queue (their lease stays "opening", counted as inactive).
      connections: o.keepalive > 0 ? o.keepalive : null,
      pipelining: 1,
      connectTimeout: o.connectTimeoutMs,
      headersTimeout: o.responseTimeoutMs,
      bodyTimeout: o.bodyTimeoutMs,
      keepAliveTimeout: o.idleTimeoutMs,
      keepAliveMaxTimeout: o.idleTimeoutMs,
      // A backend's Keep-Alive: timeout=N hint is honoured minus this margin.
      keepAliveTimeoutThreshold: 1000,
      maxHeaderSize: o.maxHeaderSize,
    });
  }
}
