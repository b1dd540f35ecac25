/**
 * Connect-with-failover, shared by the TCP data plane and HTTP upgrades: take the next
 * backend of a Selection, connect within a timeout, and on a refused or timed-out connect
 * report it (the lease ends as a failure, so passive detection sees it) and go on to a
 * backend not tried yet, until one accepts, the retries run out or the pool has no other.
 */
import { connect, type Socket, type TcpNetConnectOpts } from "node:net";
import type { BackendState } from "../pool/backend.js";
import type { Lease } from "../pool/lease.js";
import type { NoBackendReason, Selection } from "../pool/selection.js";

/** What one connect-with-failover needs and tells. */
export interface ConnectPlan {
  selection: Selection;
  /** Per attempt. */
  connectTimeoutMs: number;
  /** Attempts after a failed one (TCP `retries`); the pool's other backends bound it too. */
  retries: number;
  /**
   * The caller calls `checkTimeout()` from a clock of its own (a listener's sweep) instead of
   * the connector arming a timer on every socket it opens.
   */
  callerChecksTimeout?: boolean;
  /** Extra socket options of an attempt (read buffer, half-open, buffer sizes). */
  socketOptions?(backend: BackendState): Partial<TcpNetConnectOpts>;
  /** A backend accepted: the lease is established, the socket is the caller's. */
  onConnected(socket: Socket, lease: Lease, connectMs: number): void;
  /** An attempt failed (its lease already ended as a failure). */
  onAttemptFailed(backend: BackendState, reason: string): void;
  /** No backend accepted: `reason` is the selection's, or the last attempt's error. */
  onGaveUp(reason: NoBackendReason | string): void;
}

/** One connect-with-failover in progress; `cancel()` abandons it (the client left). */
export class BackendConnector {
  private socket: Socket | undefined;
  private lease: Lease | undefined;
  private startedAt = 0;
  private failures = 0;
  private cancelled = false;

  constructor(
    private readonly plan: ConnectPlan,
    private readonly clock: () => number,
  ) {}

  /** Takes the first backend and connects. */
  start(): void {
    this.attempt();
  }

  /** The backend of the attempt under way (or of the connection made), if any. */
  get backend(): BackendState | undefined {
    return this.lease?.backend;
  }

  /** Abandons the attempt under way: not the backend's fault, so its lease ends as ok. */
  cancel(): void {
    if (this.cancelled) return;
    this.cancelled = true;
    const socket = this.socket;
    if (socket === undefined) return; // connected: the socket and lease are the caller's
    this.socket = undefined;
    socket.removeAllListeners();
    socket.on("error", ignore);
    socket.destroy();
    this.lease?.release({ ok: true });
  }

  /**
   * Fails the attempt under way when its connect has taken `connectTimeoutMs` so far: for a
   * plan with `callerChecksTimeout`.
   */
  checkTimeout(): void {
    const socket = this.socket;
    if (socket !== undefined && this.clock() - this.startedAt >= this.plan.connectTimeoutMs) {
      this.failed(socket, "connect timeout");
    }
  }

  private attempt(): void {
    const next = this.plan.selection.next();
    if (next.kind === "none") {
      this.plan.onGaveUp(next.reason);
      return;
    }
    const lease = next.lease;
    const backend = lease.backend;
    this.lease = lease;
    this.startedAt = this.clock();
    // One object literal: options given properties after their literal slowed down every
    // net.Socket built from them (4–8% more CPU per connection in a same-run bench/tcp A/B, docs/l4.md).
    const socket = connect({
      ...this.plan.socketOptions?.(backend),
      host: backend.host,
      port: backend.port,
    });
    this.socket = socket;
    if (this.plan.callerChecksTimeout !== true) {
      socket.setTimeout(this.plan.connectTimeoutMs);
      socket.on("timeout", this.onAttemptTimeout);
    }
    // Handlers made once per connector rather than per attempt: the socket they act on is the
    // attempt under way (a failed attempt's socket loses its listeners).
    socket.on("error", this.onAttemptError);
    socket.on("connect", this.onAttemptConnected);
  }

  private readonly onAttemptTimeout = (): void => {
    if (this.socket !== undefined) this.failed(this.socket, "connect timeout");
  };

  private readonly onAttemptError = (error: NodeJS.ErrnoException): void => {
    if (this.socket !== undefined) this.failed(this.socket, error.code ?? error.message);
  };

  private readonly onAttemptConnected = (): void => {
    if (this.socket !== undefined) this.connected(this.socket);
  };

  private connected(socket: Socket): void {
    if (this.plan.callerChecksTimeout !== true) {
      socket.setTimeout(0);
      socket.removeListener("timeout", this.onAttemptTimeout);
    }
    socket.removeListener("error", this.onAttemptError);
    socket.removeListener("connect", this.onAttemptConnected);
    this.socket = undefined;
    const lease = this.lease!;
    lease.established();
    this.plan.onConnected(socket, lease, this.clock() - this.startedAt);
  }

  private failed(socket: Socket, reason: string): void {
    if (this.socket !== socket || this.cancelled) return;
    this.socket = undefined;
    socket.removeAllListeners();
    socket.on("error", ignore);
    socket.destroy();
    const lease = this.lease!;
    lease.release({ ok: false, latencyMs: this.clock() - this.startedAt });
    this.plan.onAttemptFailed(lease.backend, reason);
    if (this.cancelled) return;
    if (++this.failures > this.plan.retries) {
      this.plan.onGaveUp(reason);
      return;
    }
    this.attempt();
  }
}

function ignore(): void {}
