/**
 * One proxied TCP connection: client socket ↔ backend socket, with failover while
 * connecting, half-close in both directions, an idle timeout and exact lease accounting.
 *
 * Accounting (IPVS words): the backend counts the connection as *inactive* from the pick
 * until the backend's connect completes (SYN_SENT/SYN_RECV), as *active* from then until
 * both sockets are closed (half-closed connections still count as active, since one
 * direction still moves data), and not at all afterwards (no TIME_WAIT linger).
 */
import type { Socket, TcpNetConnectOpts } from "node:net";
import { BackendConnector, type ConnectPlan } from "../net/backend-connector.js";
import { type BackendState, formatHostPort } from "../pool/backend.js";
import type { Lease } from "../pool/lease.js";
import type { Pool } from "../pool/pool.js";
import type { NoBackendReason, Selection } from "../pool/selection.js";

/**
 * Bytes a socket may buffer before the other side is paused. Node's 16 KiB default is less
 * than one 64 KiB read, so every chunk of a bulk transfer would pause and resume the reading
 * side (two epoll changes and a drain event per chunk); 256 KiB lets a few chunks queue.
 */
export const SOCKET_BUFFER_BYTES = 256 * 1024;

/**
 * Size of the buffer the backend's bytes are read into (one read). Each connection reads its
 * backend into a buffer of its own, reused for every read, instead of Node allocating a fresh
 * one per read: no allocation and no stream bookkeeping per chunk of a download.
 */
export const READ_BUFFER_BYTES = 64 * 1024;

/** Read buffers of closed connections, kept for new ones (a bounded free list). */
const spareReadBuffers: Buffer[] = [];
const SPARE_READ_BUFFERS_MAX = 256;

/** What one connection needs from its listener, fixed at accept time. */
export interface TcpConnectionSettings {
  connectTimeoutMs: number;
  /** Connect attempts on other backends after a failed one. */
  retries: number;
}

/** Called by a connection when it is over, so the listener can forget it. */
export interface TcpConnectionOwner {
  onConnectionClosed(connection: TcpConnection): void;
  onConnectFailed(connection: TcpConnection, backend: BackendState, reason: string): void;
  /** No backend took the connection (none could serve, or every connect failed). */
  onNoBackend(connection: TcpConnection, reason: NoBackendReason | string): void;
}

/** A row of the connection table (`ballast ctl` / admin API). */
export interface TcpConnectionRow {
  id: number;
  client: string;
  backend: string | undefined;
  state: "connecting" | "established" | "closing";
  ageMs: number;
  /** Bytes received from the client (and sent on to the backend). */
  bytesIn: number;
  /** Bytes sent to the client (received from the backend). */
  bytesOut: number;
}

/**
 * The connection is its own connect plan (ConnectPlan): no plan object and no closures of its
 * own per connection.
 */
export class TcpConnection implements ConnectPlan {
  upstream: Socket | undefined;
  lease: Lease | undefined;
  /** Wall-clock start, for the connection table's age. */
  readonly startedAt = Date.now();
  private closed = false;
  /** Connects to a backend of the selection, failing over while retries last. */
  private readonly connector: BackendConnector;
  private connectLatencyMs: number | undefined;
  /** Bytes read from both sides at the last idle sweep, and when they last changed. */
  private bytesSeen = 0;
  private activeAt = 0;
  /** Where the backend's bytes are read; lent to the client's write queue while it holds them. */
  private readBuffer: Buffer | undefined;
  /** True while reading the backend waits for the client to take the last chunk. */
  private waitingForClient = false;

  constructor(
    readonly id: number,
    readonly client: Socket,
    /** The client's address, from the socket or a trusted PROXY header. */
    readonly clientAddress: string,
    readonly clientPort: number,
    pool: Pool,
    key: string | undefined,
    settings: TcpConnectionSettings,
    private readonly owner: TcpConnectionOwner,
    /** PROXY header to send to the backend first, if any. */
    private readonly proxyHeader: Buffer | undefined,
  ) {
    client.on("error", this.onSocketError);
    client.on("close", this.onClientClose);
    this.selection = pool.select({ key, client: clientAddress });
    this.connectTimeoutMs = settings.connectTimeoutMs;
    this.retries = settings.retries;
    this.connector = new BackendConnector(this, pool.clock);
  }

  /** The client's backends: the persisted one first, each tried at most once. */
  readonly selection: Selection;
  /** Per connect attempt; checked by the listener's sweep (`checkConnectTimeout`). */
  readonly connectTimeoutMs: number;
  readonly retries: number;
  readonly callerChecksTimeout = true;

  /** @internal ConnectPlan: the options of a connect attempt. */
  socketOptions(): Partial<TcpNetConnectOpts> {
    // net.Socket hands its options to stream.Duplex, which reads highWaterMark.
    return {
      allowHalfOpen: true,
      highWaterMark: SOCKET_BUFFER_BYTES,
      noDelay: true,
      onread: { buffer: this.readBufferOf(), callback: this.onUpstreamRead },
    } as Partial<TcpNetConnectOpts>;
  }

  /** @internal ConnectPlan */
  onAttemptFailed(backend: BackendState, reason: string): void {
    this.owner.onConnectFailed(this, backend, reason);
  }

  /** @internal ConnectPlan */
  onGaveUp(reason: NoBackendReason | string): void {
    if (this.closed) return;
    this.owner.onNoBackend(this, reason);
    // RST, not FIN: the client learns at once that nothing will answer (as LVS with no
    // destination), instead of reading an orderly but empty stream.
    this.client.resetAndDestroy();
  }

  /** Picks a backend (the persistent one first) and connects to it. */
  start(): void {
    this.connector.start();
  }

  /** Closes both sides at once (listener stop, idle timeout, error). */
  destroy(): void {
    this.client.destroy();
    this.upstream?.destroy();
  }

  /** A snapshot for the connection table. */
  row(): TcpConnectionRow {
    const state =
      this.lease === undefined || this.lease.state === "opening"
        ? "connecting"
        : this.client.writableEnded || this.client.readableEnded
          ? "closing"
          : "established";
    return {
      id: this.id,
      client: formatHostPort(this.clientAddress, this.clientPort),
      backend: (this.lease?.backend ?? this.connector.backend)?.id,
      state,
      ageMs: Date.now() - this.startedAt,
      bytesIn: this.client.bytesRead,
      bytesOut: this.client.bytesWritten,
    };
  }

  /** The listener's sweep: fails a connect attempt that has taken the connect timeout. */
  checkConnectTimeout(): void {
    if (this.upstream === undefined && this.connectTimeoutMs > 0) this.connector.checkTimeout();
  }

  /** @internal ConnectPlan: a backend accepted. */
  onConnected(upstream: Socket, lease: Lease, connectMs: number): void {
    this.upstream = upstream;
    this.lease = lease;
    upstream.on("error", this.onSocketError);
    upstream.on("close", this.onUpstreamClose);
    this.connectLatencyMs = connectMs;
    if (this.closed) {
      upstream.destroy();
      return;
    }
    const header = this.proxyHeader;
    if (header !== undefined) upstream.write(header);
    const client = this.client;
    this.activeAt = performance.now();
    // Forwarding by hand rather than pipe(): pipe() puts seven listeners on each pair of
    // streams and runs its bookkeeping per chunk; here a chunk is one write, and an `end` is
    // passed on as a FIN. Client to backend, a full backend buffer pauses the client until
    // `drain`; backend to client goes through the read buffer (onUpstreamRead).
    client.on("data", this.onClientData);
    client.on("end", this.onClientEnd);
    upstream.on("end", this.onUpstreamEnd);
    upstream.on("drain", this.onUpstreamDrain);
    // A 'data' listener does not restart a stream paused on purpose, as the PROXY header
    // reader leaves it.
    client.resume();
  }

  private readonly onClientData = (chunk: Buffer): void => {
    if (!this.upstream!.write(chunk)) this.client.pause();
  };

  /**
   * A read from the backend, in this connection's read buffer. When the client's socket takes
   * it all at once, the buffer is free for the next read. Otherwise the client's write queue
   * holds a view of the buffer, so reading stops (returning false) until that write is done.
   */
  private readonly onUpstreamRead = (length: number, buffer: Uint8Array): boolean => {
    const client = this.client;
    client.write((buffer as Buffer).subarray(0, length), this.afterClientWrite);
    if (client.writableLength === 0) return true;
    this.waitingForClient = true;
    return false;
  };

  private readonly afterClientWrite = (): void => {
    if (!this.waitingForClient || this.client.writableLength !== 0) return;
    this.waitingForClient = false;
    this.upstream?.resume();
  };

  private readBufferOf(): Buffer {
    if (this.readBuffer === undefined) {
      this.readBuffer = spareReadBuffers.pop() ?? Buffer.allocUnsafe(READ_BUFFER_BYTES);
    }
    return this.readBuffer;
  }

  /** The backend's buffer has room again: read from the client again. */
  private readonly onUpstreamDrain = (): void => {
    this.client.resume();
  };

  /** The client's FIN: passed on to the backend, whose replies still flow back. */
  private readonly onClientEnd = (): void => {
    closeWriting(this.upstream!);
  };

  private readonly onUpstreamEnd = (): void => {
    closeWriting(this.client);
  };

  private readonly onSocketError = (): void => {
    // A reset or write error on either side ends the connection in both directions.
    this.destroy();
  };

  /**
   * The listener's idle sweep: closes the connection when no byte moved either way for
   * `idleMs`. Comparing byte counts at each sweep costs nothing per chunk, where a socket
   * timeout would re-arm a timer on every read and write.
   */
  checkIdle(now: number, idleMs: number): void {
    const upstream = this.upstream;
    if (upstream === undefined || this.lease === undefined || this.lease.state !== "active") return;
    const moved = this.client.bytesRead + upstream.bytesRead;
    if (moved !== this.bytesSeen) {
      this.bytesSeen = moved;
      this.activeAt = now;
    } else if (now - this.activeAt >= idleMs) {
      this.destroy();
    }
  }

  private readonly onClientClose = (hadError: boolean): void => {
    // Gone while still connecting: the attempt is abandoned, not the backend's fault.
    if (this.upstream === undefined) this.connector.cancel();
    else if (hadError) this.upstream.destroy();
    this.finish();
  };

  private readonly onUpstreamClose = (hadError: boolean): void => {
    if (hadError) this.client.destroy();
    this.finish();
  };

  /** Releases the lease once both sockets are closed. */
  private finish(): void {
    if (!this.client.closed || (this.upstream !== undefined && !this.upstream.closed)) return;
    if (this.closed) return;
    this.closed = true;
    const lease = this.lease;
    if (lease !== undefined && !lease.closed) {
      lease.release({
        ok: true,
        latencyMs: this.connectLatencyMs,
        bytesIn: this.client.bytesRead,
        bytesOut: this.client.bytesWritten,
      });
    }
    // Both sockets are closed, so no write holds the read buffer any more.
    const buffer = this.readBuffer;
    if (buffer !== undefined && spareReadBuffers.length < SPARE_READ_BUFFERS_MAX) {
      spareReadBuffers.push(buffer);
    }
    this.readBuffer = undefined;
    this.selection.end();
    this.owner.onConnectionClosed(this);
  }
}

/**
 * Sends a FIN on `socket`. When its peer has already sent its own FIN and nothing waits to be
 * written, the socket is simply closed: close() sends the same FIN, and saves the
 * shutdown() call (and its epoll changes) that end() makes first.
 */
function closeWriting(socket: Socket): void {
  if (socket.readableEnded && socket.writableLength === 0) socket.destroy();
  else socket.end();
}
