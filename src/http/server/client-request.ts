/**
 * A request as ballast's own server hands it to the listener: the parts of node's
 * `IncomingMessage` that the HTTP plane reads (method, url, version, rawHeaders, socket, a
 * lazily built `headers` object) and a minimal readable body (data/end/error events, pause,
 * resume), without a stream object per request.
 *
 * The body is held until someone listens for `data` (the upstream client attaches only once
 * it has a connected socket); until then the connection stops reading, so a client cannot
 * make the proxy buffer more than one socket read of it.
 */
import { EventEmitter } from "node:events";
import type { IncomingHttpHeaders } from "node:http";
import type { Socket } from "node:net";

/** What the request needs from its connection. */
export interface RequestOwner {
  /** The consumer wants more body bytes: reading the socket goes on. */
  bodyWanted(): void;
}

/** One request of ballast's own server (an IncomingMessage stand-in). */
export class ClientRequest extends EventEmitter {
  /** Some body bytes (or its end) were handed to a consumer. */
  readableDidRead = false;
  /** The whole body arrived. */
  complete = false;
  private queue: Buffer[] = [];
  private flowing = false;
  private paused = false;
  private endEmitted = false;
  private flushScheduled = false;
  /** The response ended first: the rest of the body is read and dropped. */
  private dumped = false;
  private built: IncomingHttpHeaders | undefined;

  constructor(
    private readonly owner: RequestOwner,
    readonly socket: Socket,
    readonly method: string,
    readonly url: string,
    readonly httpVersionMajor: number,
    readonly httpVersionMinor: number,
    readonly rawHeaders: string[],
    /** The field section as received when each line is `name: value` (request-parser.ts). */
    readonly fieldText: string | undefined,
  ) {
    super();
  }

  /** "1.1", as node writes it. */
  get httpVersion(): string {
    return `${this.httpVersionMajor}.${this.httpVersionMinor}`;
  }

  /**
   * The fields by lower-case name, built on first use (routes that match on a header, the
   * cache): repeated fields joined with ", " (cookies with "; "), as node joins them.
   */
  get headers(): IncomingHttpHeaders {
    if (this.built !== undefined) return this.built;
    const headers: Record<string, string | string[]> = {};
    const raw = this.rawHeaders;
    for (let i = 0; i < raw.length; i += 2) {
      const name = raw[i].toLowerCase();
      const value = raw[i + 1];
      const seen = headers[name];
      if (seen === undefined) headers[name] = name === "set-cookie" ? [value] : value;
      else if (Array.isArray(seen)) seen.push(value);
      else if (!SINGLE.has(name))
        headers[name] = `${seen}${name === "cookie" ? "; " : ", "}${value}`;
    }
    this.built = headers as IncomingHttpHeaders;
    return this.built;
  }

  /** Adds a listener; the first `data` listener starts the body flowing (as a Readable). */
  // biome-ignore lint/suspicious/noExplicitAny: EventEmitter's own signature.
  override on(event: string | symbol, listener: (...args: any[]) => void): this {
    super.on(event, listener);
    if (event === "data" && !this.flowing) {
      this.flowing = true;
      this.scheduleFlush();
    }
    return this;
  }

  /** Stops `data` events until resume(); the connection stops reading the socket. */
  pause(): this {
    this.paused = true;
    return this;
  }

  /** Lets `data` events flow again (on the next tick, as a Readable does). */
  resume(): this {
    this.paused = false;
    this.flowing = true;
    this.scheduleFlush();
    return this;
  }

  /** True between pause() and resume(). */
  isPaused(): boolean {
    return this.paused;
  }

  // ---- from the connection ------------------------------------------------------------------

  /** Body bytes from the parser; false when the connection should stop reading for now. */
  push(chunk: Buffer): boolean {
    if (this.dumped) return true;
    if (this.flowing && !this.paused && this.queue.length === 0 && !this.flushScheduled) {
      this.readableDidRead = true;
      this.emit("data", chunk);
      return !this.paused;
    }
    // The chunk is a view of the socket's buffer; the socket allocates one per read.
    this.queue.push(chunk);
    return false;
  }

  /** The body is complete. */
  pushEnd(): void {
    this.complete = true;
    if (this.dumped) return;
    if (this.flowing && !this.paused && this.queue.length === 0 && !this.flushScheduled) {
      this.emitEnd();
    }
  }

  /** The response ended before the body was read: the rest is dropped, reading goes on. */
  dump(): void {
    this.dumped = true;
    this.queue = [];
  }

  /** The client went away before the body was complete. */
  abort(): void {
    if (this.complete || this.dumped) return;
    this.dumped = true;
    this.queue = [];
    this.emit("aborted");
    if (this.listenerCount("error") > 0) {
      const error = new Error("aborted") as Error & { code: string };
      error.code = "ECONNRESET";
      this.emit("error", error);
    }
  }

  private scheduleFlush(): void {
    if (this.flushScheduled) return;
    this.flushScheduled = true;
    process.nextTick(flush, this);
  }

  /** Hands queued bytes to the consumer until it pauses; then asks for more. */
  flushQueue(): void {
    this.flushScheduled = false;
    if (this.dumped) return;
    const queue = this.queue;
    while (queue.length > 0 && !this.paused) {
      this.readableDidRead = true;
      this.emit("data", queue.shift());
    }
    if (this.paused) return;
    if (this.complete) this.emitEnd();
    else this.owner.bodyWanted();
  }

  private emitEnd(): void {
    if (this.endEmitted) return;
    this.endEmitted = true;
    this.readableDidRead = true;
    this.emit("end");
  }
}

function flush(request: ClientRequest): void {
  request.flushQueue();
}

/** Fields node keeps once (the first wins) instead of joining. */
const SINGLE = new Set([
  "age",
  "authorization",
  "content-length",
  "content-type",
  "etag",
  "expires",
  "from",
  "host",
  "if-modified-since",
  "if-unmodified-since",
  "last-modified",
  "location",
  "max-forwards",
  "proxy-authorization",
  "referer",
  "retry-after",
  "server",
  "user-agent",
]);
