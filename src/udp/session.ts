/**
 * One UDP session: a client address and port, its own upstream socket, and (in session
 * mode) the backend it is bound to. Replies from the backend go back to the client from the
 * listener's socket, so the client sees answers from the address it sent to.
 */
import { createSocket, type Socket } from "node:dgram";
import { isIPv6 } from "node:net";
import { type BackendState, formatHostPort } from "../pool/backend.js";
import type { Lease } from "../pool/lease.js";
import type { Selection } from "../pool/selection.js";

/** Datagrams kept per session while its upstream socket is still being set up. */
const MAX_QUEUED = 32;

/** What a session needs from its listener. */
export interface UdpSessionOwner {
  /** Sends a backend's reply to the client from the listener's own socket. */
  reply(session: UdpSession, message: Buffer): void;
  /** The upstream socket failed (ICMP port unreachable, ...): the session must end. */
  onUpstreamError(session: UdpSession, error: Error): void;
}

/** A row of the session table (`ballast ctl` / admin API). */
export interface UdpSessionRow {
  client: string;
  backend: string | undefined;
  ageMs: number;
  idleMs: number;
  /** Bytes received from the client. */
  bytesIn: number;
  /** Bytes sent back to the client. */
  bytesOut: number;
}

export class UdpSession {
  readonly upstream: Socket;
  /** Position in the listener's LRU order was last refreshed at this time (ms). */
  touchedAt: number;
  lastSeen: number;
  bytesIn = 0;
  bytesOut = 0;
  ready = false;
  closed = false;
  /**
   * The client's latest unanswered datagram (session mode), re-sent elsewhere if the backend
   * is gone. A reply clears it, so a large session table does not hold a datagram per client.
   */
  lastDatagram: Buffer | undefined;
  /** How many times this client's datagram was moved to another backend in a row. */
  /**
   * Session mode: the backends of this client (persisted one first); a failover goes on with
   * it, and it settles the persistence binding in the pool that made it, even after a reload
   * moved the listener to another pool.
   */
  selection: Selection | undefined;
  private queue: Buffer[] | undefined;
  /** Backends of queued datagrams in datagram mode, parallel to `queue`. */
  private readonly queueTargets: BackendState[] = [];

  constructor(
    readonly key: string,
    readonly clientAddress: string,
    readonly clientPort: number,
    /** Session mode: the leased backend; datagram mode: undefined. */
    readonly lease: Lease | undefined,
    /** Whether the upstream socket speaks IPv6. */
    readonly ipv6: boolean,
    readonly createdAt: number,
    owner: UdpSessionOwner,
  ) {
    this.touchedAt = createdAt;
    this.lastSeen = createdAt;
    const upstream = createSocket(ipv6 ? "udp6" : "udp4");
    this.upstream = upstream;
    upstream.on("message", (message) => {
      this.bytesOut += message.length;
      this.lastDatagram = undefined;
      owner.reply(this, message);
    });
    upstream.on("error", (error) => owner.onUpstreamError(this, error));
    const backend = lease?.backend;
    if (backend !== undefined) {
      // A connected socket only takes datagrams from its backend, and learns of an ICMP
      // port unreachable as an error.
      upstream.connect(backend.port, backend.host, () => this.onReady());
    } else {
      upstream.bind(0, () => this.onReady());
    }
  }

  /** The backend of a session-mode session. */
  get backend(): BackendState | undefined {
    return this.lease?.backend;
  }

  /** Forwards a client datagram to the session's backend (session mode). */
  send(message: Buffer): void {
    this.bytesIn += message.length;
    this.lastDatagram = message;
    if (this.ready) this.upstream.send(message);
    else this.enqueue(message, undefined);
  }

  /** Forwards a client datagram to a backend chosen for it alone (datagram mode). */
  sendTo(message: Buffer, backend: BackendState): void {
    this.bytesIn += message.length;
    if (this.ready) this.upstream.send(message, backend.port, this.hostFor(backend));
    else this.enqueue(message, backend);
  }

  /** Closes the upstream socket; returns false when it was closed already. */
  close(): boolean {
    if (this.closed) return false;
    this.closed = true;
    this.queue = undefined;
    try {
      this.upstream.close();
    } catch {
      // Closing a socket whose bind or connect failed throws; it is gone either way.
    }
    return true;
  }

  /** A snapshot for the session table. */
  row(now: number): UdpSessionRow {
    return {
      client: formatHostPort(this.clientAddress, this.clientPort),
      backend: this.lease?.backend.id,
      ageMs: Math.round(now - this.createdAt),
      idleMs: Math.round(now - this.lastSeen),
      bytesIn: this.bytesIn,
      bytesOut: this.bytesOut,
    };
  }

  private hostFor(backend: BackendState): string {
    // A udp6 socket reaches IPv4 backends through their IPv4-mapped address.
    return this.ipv6 && !isIPv6(backend.host) ? `::ffff:${backend.host}` : backend.host;
  }

  private enqueue(message: Buffer, backend: BackendState | undefined): void {
    this.queue ??= [];
    if (this.queue.length >= MAX_QUEUED) return;
    this.queue.push(message);
    if (backend !== undefined) this.queueTargets.push(backend);
  }

  private onReady(): void {
    if (this.closed) return;
    this.ready = true;
    this.lease?.established();
    const queue = this.queue;
    this.queue = undefined;
    if (queue === undefined) return;
    for (let i = 0; i < queue.length; i++) {
      const target = this.queueTargets[i];
      if (target === undefined) this.upstream.send(queue[i]);
      else this.upstream.send(queue[i], target.port, this.hostFor(target));
    }
    this.queueTargets.length = 0;
  }
}
