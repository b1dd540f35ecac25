/**
 * The keep-alive connections to one backend address: at most `maxConnections` sockets (busy
 * or idle); beyond that requests wait in a FIFO queue. The most recently used idle socket
 * is reused first, so the others age out on their idle deadline when load drops.
 */
import {
  type ConnectionOptions,
  type ConnectionOwner,
  UpstreamConnection,
  UpstreamError,
  type UpstreamHandler,
  type UpstreamRequest,
} from "./client.js";

/** Pool settings: connection options plus the bound on sockets (0: unbounded, no reuse). */
export interface SocketPoolOptions extends ConnectionOptions {
  maxConnections: number;
}

interface Waiting {
  request: UpstreamRequest;
  handler: UpstreamHandler;
}

/** Keep-alive sockets to one backend. */
export class SocketPool implements ConnectionOwner {
  private readonly idleStack: UpstreamConnection[] = [];
  private readonly all = new Set<UpstreamConnection>();
  private readonly queue: Waiting[] = [];
  private closing = false;
  private whenEmpty: (() => void) | undefined;
  closed = false;

  constructor(
    private readonly host: string,
    private readonly port: number,
    readonly options: SocketPoolOptions,
  ) {}

  /** Requests waiting or running, for the unused-pool sweep. */
  get busy(): number {
    return this.all.size - this.idleStack.length + this.queue.length;
  }

  /** Sends a request on an idle socket, a new one, or queues it when the bound is reached. */
  dispatch(request: UpstreamRequest, handler: UpstreamHandler): void {
    if (this.closed) {
      handler.onUpstreamError(new UpstreamError("UPSTREAM_POOL_CLOSED", "upstream pool closed"));
      return;
    }
    const idle = this.idleStack.pop();
    if (idle !== undefined) {
      if (!idle.send(request, handler)) this.released(idle);
      return;
    }
    const max = this.options.maxConnections;
    if (max > 0 && this.all.size >= max) {
      this.queue.push({ request, handler });
      return;
    }
    this.all.add(new UpstreamConnection(this, this.host, this.port, request, handler));
  }

  /** A connection is free: the next waiting request takes it, else it waits idle. */
  released(connection: UpstreamConnection): void {
    // Requests whose clients left give the socket straight back: skip them in this loop.
    for (let next = this.queue.shift(); next !== undefined; next = this.queue.shift()) {
      if (connection.send(next.request, next.handler)) return;
    }
    if (this.closing) {
      connection.close();
      return;
    }
    this.idleStack.push(connection);
  }

  /** A connection closed: forget it, and let a waiting request open a new one. */
  removed(connection: UpstreamConnection): void {
    if (!this.all.delete(connection)) return;
    const at = this.idleStack.indexOf(connection);
    if (at >= 0) this.idleStack.splice(at, 1);
    const next = this.queue.shift();
    if (next !== undefined) {
      this.all.add(new UpstreamConnection(this, this.host, this.port, next.request, next.handler));
      return;
    }
    if (this.all.size === 0) this.whenEmpty?.();
  }

  /** Graceful close: requests in flight and queued finish, then every socket closes. */
  close(): Promise<void> {
    this.closed = true;
    this.closing = true;
    for (const connection of this.idleStack.splice(0)) connection.close();
    if (this.all.size === 0) return Promise.resolve();
    return new Promise((resolve) => {
      this.whenEmpty = resolve;
    });
  }

  /** Closes every socket now; requests in flight fail. */
  destroy(): Promise<void> {
    this.closed = true;
    this.closing = true;
    const queued = this.queue.splice(0);
    for (const connection of [...this.all]) connection.close();
    for (const waiting of queued) {
      waiting.handler.onUpstreamError(
        new UpstreamError("UPSTREAM_POOL_CLOSED", "upstream pool closed"),
      );
    }
    return Promise.resolve();
  }
}
