/**
 * The tcp data plane's listener: accepts connections and balances them over a pool, as
 * LVS's NAT mode or HAProxy's `mode tcp` do (see docs/l4.md).
 */
import { createServer, type Server, type Socket } from "node:net";
import type { ListenerConfig, TcpListenerConfig } from "../config/schema/index.js";
import { l4HashKey } from "../net/l4-hash-key.js";
import type { Listener, ListenerContext, ListenerFactory } from "../net/listener.js";
import {
  encodeProxyHeader,
  type ProxyAddresses,
  type ProxyHeader,
  TrustedSources,
  unmapIPv4,
} from "../net/proxy-protocol.js";
import { RateLimitedLog } from "../net/rate-limited-log.js";
import { type BackendState, formatHostPort } from "../pool/backend.js";
import type { PersistenceRow } from "../pool/persistence.js";
import type { NoBackendReason } from "../pool/selection.js";
import { ClientLimits, type Refusal } from "../security/client-limits.js";
import {
  SOCKET_BUFFER_BYTES,
  TcpConnection,
  type TcpConnectionOwner,
  type TcpConnectionRow,
  type TcpConnectionSettings,
} from "./connection.js";
import { readProxyHeader } from "./proxy-header-reader.js";

/** Time a graceful stop waits for open connections when the caller gives none. */
const DEFAULT_STOP_TIMEOUT_MS = 30_000;

/** Creates a tcp listener from its config. */
export const createTcpListener: ListenerFactory = (config, context) =>
  new TcpListener(config as TcpListenerConfig, context);

/** A tcp listener; `connections()` lists the connection table. */
export class TcpListener implements Listener, TcpConnectionOwner {
  readonly protocol = "tcp" as const;
  readonly name: string;
  private config: TcpListenerConfig;
  private settings: TcpConnectionSettings;
  private trusted: TrustedSources;
  private readonly server: Server;
  private readonly open = new Set<TcpConnection>();
  /** Sockets still reading a PROXY header: not yet in the connection table. */
  private readonly pending = new Set<Socket>();
  private nextId = 1;
  private sweepTimer: NodeJS.Timeout | undefined;
  private listening = false;
  private readonly noBackendLog: RateLimitedLog;
  /** The `limits` section: allow/deny, connection rate and connection counts. */
  private readonly limits: ClientLimits;
  private readonly refusalLog: RateLimitedLog;
  private readonly counters = {
    accepted: 0,
    closed: 0,
    noBackend: 0,
    connectFailures: 0,
    proxyHeaderRejected: 0,
    /** Closed at accept: address denied. */
    deniedConnections: 0,
    /** Closed at accept: over `rate_per_second`, `connections_per_client` or `max_connections`. */
    limitedConnections: 0,
  };

  constructor(
    config: TcpListenerConfig,
    private readonly context: ListenerContext,
  ) {
    this.name = config.name;
    this.config = config;
    this.settings = settingsOf(config);
    this.trusted = new TrustedSources(config.proxy_protocol?.accept_from ?? []);
    this.noBackendLog = new RateLimitedLog(context.logger, 1000);
    this.limits = new ClientLimits(config.limits);
    this.refusalLog = new RateLimitedLog(context.logger, 1000);
    this.server = createServer(
      { allowHalfOpen: true, noDelay: true, highWaterMark: SOCKET_BUFFER_BYTES },
      this.onConnection,
    );
  }

  /** Binds and starts accepting. */
  start(): Promise<void> {
    const { host, port } = this.config.bind;
    return new Promise((resolve, reject) => {
      const onError = (error: Error) => {
        reject(
          new Error(
            `listener "${this.name}": cannot listen on ${formatHostPort(host, port)}: ${error.message}`,
          ),
        );
      };
      this.server.once("error", onError);
      this.server.listen({ host, port }, () => {
        this.server.off("error", onError);
        this.server.on("error", (error) =>
          this.context.logger.error({ listener: this.name, err: error }, "tcp listener error"),
        );
        this.listening = true;
        this.scheduleSweep();
        resolve();
      });
    });
  }

  /** Applies new timeouts, retries, pool and PROXY settings to new connections. */
  update(config: ListenerConfig): void {
    if (config.protocol !== "tcp") return;
    this.config = config;
    this.settings = settingsOf(config);
    this.trusted = new TrustedSources(config.proxy_protocol?.accept_from ?? []);
    this.limits.configure(config.limits);
    // A client denied by the new lists loses its open connections too (an operator blocking
    // an abuser means now); connection limits apply to new connections only.
    if (this.limits.filtersAddresses) {
      for (const connection of this.open) {
        if (!this.limits.allows(connection.clientAddress)) connection.destroy();
      }
    }
    if (this.listening) this.scheduleSweep();
  }

  /** Stops accepting; open connections finish until the timeout, then are closed. */
  async stop(options: { graceful?: boolean; timeoutMs?: number } = {}): Promise<void> {
    if (!this.listening) return;
    this.listening = false;
    // server.close() calls back once every accepted socket has closed.
    const closed = new Promise<void>((resolve) => this.server.close(() => resolve()));
    for (const socket of this.pending) socket.destroy();
    let timer: NodeJS.Timeout | undefined;
    if (options.graceful === false) {
      this.destroyAll();
    } else {
      timer = setTimeout(() => this.destroyAll(), options.timeoutMs ?? DEFAULT_STOP_TIMEOUT_MS);
    }
    await closed;
    if (timer) clearTimeout(timer);
    // Swept until the last connection is gone: connects under way still time out.
    if (this.sweepTimer) clearInterval(this.sweepTimer);
    this.sweepTimer = undefined;
  }

  /** The bound address. */
  address(): { host: string; port: number } {
    const bound = this.server.address();
    if (bound === null || typeof bound === "string") return { ...this.config.bind };
    return { host: bound.address, port: bound.port };
  }

  /** Counters for the admin API and metrics. */
  stats(): Record<string, number> {
    return { ...this.counters, open: this.open.size };
  }

  /** The connection table: client, backend, state, age and bytes of each open connection. */
  connections(): TcpConnectionRow[] {
    const rows: TcpConnectionRow[] = [];
    for (const connection of this.open) rows.push(connection.row());
    return rows;
  }

  /** Closes the open connections to one backend of this listener's pool (a drain's cap). */
  closeConnectionsTo(pool: string, backendId: string): number {
    if (pool !== this.config.pool) return 0;
    let closed = 0;
    for (const connection of [...this.open]) {
      if (connection.lease?.backend.id !== backendId) continue;
      connection.destroy();
      closed++;
    }
    return closed;
  }

  /** The pool's persistence bindings (client → backend), empty when persistence is off. */
  persistence(): PersistenceRow[] {
    const pool = this.context.pools.get(this.config.pool);
    return pool?.persistence?.rows() ?? [];
  }

  /** @internal */
  onConnectionClosed(connection: TcpConnection): void {
    this.limits.closeConnection(connection.clientAddress);
    if (this.open.delete(connection)) this.counters.closed++;
  }

  /** @internal */
  onConnectFailed(connection: TcpConnection, backend: BackendState, reason: string): void {
    this.counters.connectFailures++;
    this.context.logger.warn(
      { listener: this.name, client: connection.clientAddress, backend: backend.id, reason },
      "backend connect failed",
    );
  }

  /** @internal */
  onNoBackend(connection: TcpConnection, reason: NoBackendReason | string): void {
    this.counters.noBackend++;
    // A role pool says which role is missing: "no primary" explains a refused write.
    const role = this.context.pools.get(this.config.pool)?.role;
    this.noBackendLog.warn(
      { listener: this.name, pool: this.config.pool, client: connection.clientAddress, reason },
      role === undefined
        ? "no backend available: connection reset"
        : `no ${role} in service: connection reset`,
    );
  }

  private readonly onConnection = (socket: Socket): void => {
    this.counters.accepted++;
    const peer = unmapIPv4(socket.remoteAddress ?? "");
    if (this.trusted.empty || !this.trusted.has(peer)) {
      this.dispatch(socket, peer, socket.remotePort ?? 0, undefined);
      return;
    }
    this.pending.add(socket);
    readProxyHeader(socket, this.settings.connectTimeoutMs, (header, reason) => {
      this.pending.delete(socket);
      if (header === undefined) {
        socket.on("error", ignore);
        socket.destroy();
        // Destroyed by stop(): not the front balancer's fault.
        if (!this.listening) return;
        this.counters.proxyHeaderRejected++;
        this.context.logger.warn(
          { listener: this.name, peer, reason },
          "PROXY header required from this front balancer: connection closed",
        );
        return;
      }
      this.dispatchProxied(socket, peer, header);
    });
  };

  private dispatchProxied(socket: Socket, peer: string, header: ProxyHeader): void {
    const addresses = header.addresses;
    // LOCAL / UNKNOWN headers (health checks of the front balancer): the peer is the client.
    if (addresses === undefined) this.dispatch(socket, peer, socket.remotePort ?? 0, undefined);
    else this.dispatch(socket, addresses.sourceAddress, addresses.sourcePort, addresses);
  }

  /** Takes a connection whose client address is known into the pool. */
  private dispatch(
    socket: Socket,
    clientAddress: string,
    clientPort: number,
    received: ProxyAddresses | undefined,
  ): void {
    const refusal = this.limits.openConnection(clientAddress, true);
    if (refusal !== undefined) {
      this.refuse(socket, clientAddress, refusal);
      return;
    }
    const pool = this.context.pools.get(this.config.pool);
    if (pool === undefined) {
      socket.on("close", () => this.limits.closeConnection(clientAddress));
      this.counters.noBackend++;
      this.noBackendLog.warn(
        { listener: this.name, pool: this.config.pool },
        "unknown pool: connection reset",
      );
      socket.on("error", ignore);
      socket.resetAndDestroy();
      return;
    }
    const connection = new TcpConnection(
      this.nextId++,
      socket,
      clientAddress,
      clientPort,
      pool,
      l4HashKey(pool, clientAddress, clientPort),
      this.settings,
      this,
      this.proxyHeaderFor(socket, clientAddress, clientPort, received),
    );
    this.open.add(connection);
    connection.start();
  }

  /** Closes a connection the limits refuse, before any backend is picked. */
  private refuse(socket: Socket, client: string, reason: Refusal): void {
    if (reason === "denied") this.counters.deniedConnections++;
    else this.counters.limitedConnections++;
    this.refusalLog.warn({ listener: this.name, client, reason }, "connection refused at accept");
    socket.on("error", ignore);
    socket.destroy();
  }

  private proxyHeaderFor(
    socket: Socket,
    clientAddress: string,
    clientPort: number,
    received: ProxyAddresses | undefined,
  ): Buffer | undefined {
    const version = this.config.proxy_protocol?.send;
    if (version === undefined) return undefined;
    const destinationAddress = received?.destinationAddress ?? unmapIPv4(socket.localAddress ?? "");
    const sourceAddress = unmapIPv4(clientAddress);
    return encodeProxyHeader(version, {
      family: sourceAddress.includes(":") || destinationAddress.includes(":") ? "tcp6" : "tcp4",
      sourceAddress,
      sourcePort: clientPort,
      destinationAddress,
      destinationPort: received?.destinationPort ?? socket.localPort ?? 0,
    });
  }

  private destroyAll(): void {
    for (const connection of this.open) connection.destroy();
  }

  /**
   * One sweep finds connects that took too long and idle connections, instead of a timer per
   * socket (a socket timeout is re-armed on every read and write, and costs a timer object per
   * connection). It runs every quarter of the shorter of the two timeouts (25 ms to 5 s), so a
   * connect attempt fails between `connect` and `connect` plus a quarter of it, and a connection
   * closes between `idle` and `idle` plus one sweep interval after its last byte.
   */
  private scheduleSweep(): void {
    if (this.sweepTimer) clearInterval(this.sweepTimer);
    this.sweepTimer = undefined;
    const idleMs = this.config.timeouts.idle;
    // The current config sets the interval; connections accepted before a reload keep their own
    // connect timeout, checked at this interval.
    const shortest = Math.min(
      idleMs > 0 ? idleMs : Number.POSITIVE_INFINITY,
      this.config.timeouts.connect > 0 ? this.config.timeouts.connect : Number.POSITIVE_INFINITY,
    );
    if (shortest === Number.POSITIVE_INFINITY) return;
    this.sweepTimer = setInterval(
      () => this.sweep(idleMs),
      Math.max(25, Math.min(5000, shortest / 4)),
    );
    this.sweepTimer.unref();
  }

  private sweep(idleMs: number): void {
    const now = this.clock();
    for (const connection of this.open) {
      if (connection.upstream === undefined) connection.checkConnectTimeout();
      else if (idleMs > 0) connection.checkIdle(now, idleMs);
    }
  }

  private clock(): number {
    return performance.now();
  }
}

function settingsOf(config: TcpListenerConfig): TcpConnectionSettings {
  return {
    connectTimeoutMs: config.timeouts.connect,
    retries: config.retries,
  };
}

function ignore(): void {}
