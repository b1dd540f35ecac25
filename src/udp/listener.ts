/**
 * The udp data plane's listener. Datagrams are grouped into sessions by client address and
 * port (IPVS's UDP connection entries); each session has its own upstream socket, an idle
 * timeout, and a place in a bounded table that evicts the least recently used session.
 *
 * - `mode: session`: the backend is chosen when the session starts and kept (persistence
 *   applies); the session's lease is inactive until the upstream socket is connected, then
 *   active until the session ends.
 * - `mode: datagram`: every datagram is scheduled on its own, as IPVS one-packet scheduling
 *   (`--ops`) does for DNS: a lease is taken and released per datagram, so it never counts
 *   as a lasting connection. The session only routes replies back to the client.
 */
import { createSocket, type RemoteInfo, type Socket } from "node:dgram";
import { isIPv6 } from "node:net";
import type { ListenerConfig, UdpListenerConfig } from "../config/schema/index.js";
import { l4HashKey } from "../net/l4-hash-key.js";
import type { Listener, ListenerContext, ListenerFactory } from "../net/listener.js";
import { unmapIPv4 } from "../net/proxy-protocol.js";
import { RateLimitedLog } from "../net/rate-limited-log.js";
import { formatHostPort } from "../pool/backend.js";
import type { Lease } from "../pool/lease.js";
import type { PersistenceRow } from "../pool/persistence.js";
import type { Pool } from "../pool/pool.js";
import type { Selection } from "../pool/selection.js";
import { ClientLimits, type Refusal } from "../security/client-limits.js";
import { UdpSession, type UdpSessionOwner, type UdpSessionRow } from "./session.js";

/** Clients whose last session failed, remembered so their retry avoids that backend. */
const MAX_REMEMBERED_FAILURES = 4096;

/** Creates a udp listener from its config. */
export const createUdpListener: ListenerFactory = (config, context) =>
  new UdpListener(config as UdpListenerConfig, context);

/** A udp listener; `sessions()` lists the session table. */
export class UdpListener implements Listener, UdpSessionOwner {
  readonly protocol = "udp" as const;
  readonly name: string;
  private config: UdpListenerConfig;
  private socket: Socket | undefined;
  /** Sessions by "address|port", least recently used first. */
  private readonly sessions_ = new Map<string, UdpSession>();
  /**
   * The selection of a client whose session failed (ICMP port unreachable) with no datagram
   * to re-send: the client's retry goes on with it, so it starts elsewhere. Small; the
   * oldest is ended when full.
   */
  private readonly failedSelections = new Map<string, Selection>();
  private sweepTimer: NodeJS.Timeout | undefined;
  private readonly noBackendLog: RateLimitedLog;
  /** The `limits` section: allow/deny, datagram rate, sessions per client and in total. */
  private readonly limits: ClientLimits;
  private readonly refusalLog: RateLimitedLog;
  private readonly counters = {
    datagramsIn: 0,
    datagramsOut: 0,
    sessionsCreated: 0,
    sessionsExpired: 0,
    sessionsEvicted: 0,
    noBackend: 0,
    upstreamErrors: 0,
    /** Dropped: address denied. */
    deniedDatagrams: 0,
    /** Dropped: over `rate_per_second`, `connections_per_client` or `max_connections`. */
    limitedDatagrams: 0,
  };

  constructor(
    config: UdpListenerConfig,
    private readonly context: ListenerContext,
  ) {
    this.name = config.name;
    this.config = config;
    this.noBackendLog = new RateLimitedLog(context.logger, 1000);
    this.limits = new ClientLimits(config.limits);
    this.refusalLog = new RateLimitedLog(context.logger, 1000);
  }

  /** Binds and starts receiving. */
  start(): Promise<void> {
    const { host, port } = this.config.bind;
    const socket = createSocket(isIPv6(host) ? "udp6" : "udp4");
    this.socket = socket;
    return new Promise((resolve, reject) => {
      const onError = (error: Error) => {
        this.socket = undefined;
        socket.close();
        reject(
          new Error(
            `listener "${this.name}": cannot listen on ${formatHostPort(host, port)}: ${error.message}`,
          ),
        );
      };
      socket.once("error", onError);
      socket.bind(port, host, () => {
        socket.off("error", onError);
        socket.on("error", (error) =>
          this.context.logger.error({ listener: this.name, err: error }, "udp listener error"),
        );
        socket.on("message", this.onMessage);
        this.scheduleSweep();
        resolve();
      });
    });
  }

  /** Applies a new mode, timeout and table bound; existing sessions keep their backend. */
  update(config: ListenerConfig): void {
    if (config.protocol !== "udp") return;
    const timeoutChanged = config.session_timeout !== this.config.session_timeout;
    this.config = config;
    this.limits.configure(config.limits);
    if (this.limits.filtersAddresses) {
      // Sessions of clients the new lists deny end now, as new ones would be refused.
      for (const session of this.sessions_.values()) {
        if (!this.limits.allows(session.clientAddress)) this.endSession(session, true);
      }
    }
    while (this.sessions_.size > config.max_sessions) this.evictOldest();
    if (timeoutChanged && this.socket !== undefined) this.scheduleSweep();
  }

  /** Stops receiving and ends every session (datagrams have nothing to finish). */
  async stop(_options: { graceful?: boolean; timeoutMs?: number } = {}): Promise<void> {
    const socket = this.socket;
    if (socket === undefined) return;
    this.socket = undefined;
    if (this.sweepTimer) clearInterval(this.sweepTimer);
    for (const session of [...this.sessions_.values()]) this.endSession(session, true);
    for (const selection of this.failedSelections.values()) selection.end();
    this.failedSelections.clear();
    await new Promise<void>((resolve) => socket.close(() => resolve()));
  }

  /** The bound address. */
  address(): { host: string; port: number } {
    if (this.socket === undefined) return { ...this.config.bind };
    const bound = this.socket.address();
    return { host: bound.address, port: bound.port };
  }

  /** Counters for the admin API and metrics. */
  stats(): Record<string, number> {
    return { ...this.counters, sessions: this.sessions_.size };
  }

  /** The session table: client, backend, age, idle time and bytes of each session. */
  sessions(): UdpSessionRow[] {
    const now = performance.now();
    const rows: UdpSessionRow[] = [];
    for (const session of this.sessions_.values()) rows.push(session.row(now));
    return rows;
  }

  /** The session table under the Listener contract's name. */
  connections(): UdpSessionRow[] {
    return this.sessions();
  }

  /** The pool's persistence bindings (client → backend), empty when persistence is off. */
  persistence(): PersistenceRow[] {
    const pool = this.context.pools.get(this.config.pool);
    return pool?.persistence?.rows() ?? [];
  }

  /** @internal */
  reply(session: UdpSession, message: Buffer): void {
    const socket = this.socket;
    if (socket === undefined || session.closed) return;
    this.counters.datagramsOut++;
    session.lastSeen = performance.now();
    socket.send(message, session.clientPort, session.clientAddress);
  }

  /** @internal */
  onUpstreamError(session: UdpSession, error: Error): void {
    this.counters.upstreamErrors++;
    this.context.logger.warn(
      { listener: this.name, backend: session.backend?.id, err: error.message },
      "udp upstream error: session ended",
    );
    this.endSession(session, false, true);
    if (!this.failOver(session, error)) this.rememberFailure(session);
  }

  private readonly onMessage = (message: Buffer, remote: RemoteInfo): void => {
    this.counters.datagramsIn++;
    // The rate counts datagrams (each is a request: a DNS query, a syslog line).
    if (this.limits.takeToken(remote.address) > 0) {
      this.refuse(remote.address, "rate_per_second");
      return;
    }
    const key = `${remote.address}|${remote.port}`;
    const now = performance.now();
    let session = this.sessions_.get(key);
    if (session === undefined) {
      session = this.openSession(key, remote.address, remote.port, now);
      if (session === undefined) return;
    } else {
      session.lastSeen = now;
      // Re-inserting keeps the map in recency order; doing it at most once per interval
      // keeps the per-datagram cost to a field write.
      if (now - session.touchedAt > this.touchIntervalMs()) {
        session.touchedAt = now;
        this.sessions_.delete(key);
        this.sessions_.set(key, session);
      }
    }
    if (session.lease !== undefined) {
      session.send(message);
      return;
    }
    const pool = this.context.pools.get(this.config.pool);
    const next = pool
      ?.select({ key: l4HashKey(pool, session.clientAddress, session.clientPort) })
      .next();
    if (next?.kind !== "backend") {
      this.noBackend(session.clientAddress);
      return;
    }
    const lease = next.lease;
    lease.established();
    session.sendTo(message, lease.backend);
    lease.release({ ok: true, bytesIn: message.length });
  };

  /**
   * A connected upstream socket learns of ICMP port unreachable: the backend is not there.
   * Like a refused TCP connect, the client's latest datagram is re-sent at once on a new
   * session to a backend its selection has not tried, so the client sees no loss. False
   * when there was nothing to re-send.
   */
  private failOver(failed: UdpSession, error: Error): boolean {
    const datagram = failed.lastDatagram;
    if (datagram === undefined || this.socket === undefined) return false;
    if ((error as NodeJS.ErrnoException).code !== "ECONNREFUSED") return false;
    if (this.sessions_.has(failed.key)) return false;
    const session = this.openSession(
      failed.key,
      failed.clientAddress,
      failed.clientPort,
      performance.now(),
      failed.selection,
    );
    if (session !== undefined) session.send(datagram);
    return true;
  }

  /** Keeps a failed session's selection for the client's next datagram. */
  private rememberFailure(session: UdpSession): void {
    const selection = session.selection;
    if (selection === undefined) return;
    if (this.failedSelections.size >= MAX_REMEMBERED_FAILURES) {
      const [oldestKey, oldest] = this.failedSelections.entries().next().value!;
      this.failedSelections.delete(oldestKey);
      oldest.end();
    }
    this.failedSelections.get(session.key)?.end();
    this.failedSelections.set(session.key, selection);
  }

  private openSession(
    key: string,
    address: string,
    port: number,
    now: number,
    continued?: Selection,
  ): UdpSession | undefined {
    // A session counts as a connection for allow/deny and the connection limits.
    const refusal = this.limits.openConnection(address);
    if (refusal !== undefined) {
      continued?.end();
      this.refuse(address, refusal);
      return undefined;
    }
    const pool = this.context.pools.get(this.config.pool);
    if (pool === undefined) {
      continued?.end();
      this.limits.closeConnection(address);
      this.noBackend(address);
      return undefined;
    }
    const clientAddress = unmapIPv4(address);
    let lease: Lease | undefined;
    let selection: Selection | undefined;
    if (this.config.mode === "session") {
      selection = continued ?? this.failedSelections.get(key);
      this.failedSelections.delete(key);
      selection ??= pool.select({
        key: l4HashKey(pool, clientAddress, port),
        client: clientAddress,
      });
      const next = selection.next();
      if (next.kind === "none") {
        selection.end();
        this.limits.closeConnection(address);
        this.noBackend(clientAddress);
        return undefined;
      }
      lease = next.lease;
    }
    if (this.sessions_.size >= this.config.max_sessions) this.evictOldest();
    const ipv6 = lease !== undefined ? isIPv6(lease.backend.host) : hasIPv6Backend(pool);
    const session = new UdpSession(key, address, port, lease, ipv6, now, this);
    session.selection = selection;
    this.sessions_.set(key, session);
    this.counters.sessionsCreated++;
    return session;
  }

  /** Ends a session; with `failingOver`, its selection goes on (the caller's to end). */
  private endSession(session: UdpSession, ok: boolean, failingOver = false): void {
    if (!session.close()) return;
    if (this.sessions_.get(session.key) === session) this.sessions_.delete(session.key);
    this.limits.closeConnection(session.clientAddress);
    session.lease?.release({ ok, bytesIn: session.bytesIn, bytesOut: session.bytesOut });
    if (!failingOver) session.selection?.end();
  }

  private evictOldest(): void {
    const oldest = this.sessions_.values().next();
    if (oldest.done) return;
    this.counters.sessionsEvicted++;
    this.endSession(oldest.value, true);
  }

  /** Ends sessions idle for the session timeout, walking from the least recently used. */
  private sweep(): void {
    const now = performance.now();
    const timeout = this.config.session_timeout;
    for (const session of this.sessions_.values()) {
      if (session.touchedAt + timeout > now) break;
      if (session.lastSeen + timeout <= now) {
        this.counters.sessionsExpired++;
        this.endSession(session, true);
      } else {
        // Used since its position was refreshed: move it to where it belongs.
        session.touchedAt = session.lastSeen;
        this.sessions_.delete(session.key);
        this.sessions_.set(session.key, session);
      }
    }
  }

  private touchIntervalMs(): number {
    return Math.min(1000, this.config.session_timeout / 4);
  }

  private scheduleSweep(): void {
    if (this.sweepTimer) clearInterval(this.sweepTimer);
    const every = Math.max(50, Math.min(1000, this.config.session_timeout / 4));
    this.sweepTimer = setInterval(() => this.sweep(), every);
    this.sweepTimer.unref();
  }

  /** Drops a datagram the limits refuse. */
  private refuse(client: string, reason: Refusal): void {
    if (reason === "denied") this.counters.deniedDatagrams++;
    else this.counters.limitedDatagrams++;
    this.refusalLog.warn({ listener: this.name, client, reason }, "datagram dropped by limits");
  }

  private noBackend(client: string): void {
    this.counters.noBackend++;
    this.noBackendLog.warn(
      { listener: this.name, pool: this.config.pool, client },
      "no backend available: datagram dropped",
    );
  }
}

function hasIPv6Backend(pool: Pool): boolean {
  for (const backend of pool.backends) if (isIPv6(backend.host)) return true;
  return false;
}
