/**
 * One keep-alive HTTP/1.1 connection to a backend, one request at a time: the request head
 * is built as one string and leaves with the first body chunk in one write; the response is
 * read by our own strict parser and handed to the request's handler. Timeouts are deadlines
 * on a coarse shared clock (deadlines.ts); the listeners are bound once per connection, so a
 * request adds no closure.
 */
import { connect, type Socket } from "node:net";
import type { Readable } from "node:stream";
import { type Deadlined, deadlineIn, unwatch, watch } from "./deadlines.js";
import { type ResponseFields, ResponseParser, type ResponseSink } from "./response-parser.js";

/** What to send upstream. */
export interface UpstreamRequest {
  method: string;
  /** Origin-form target. */
  path: string;
  /** The first fields as text (`name: value\r\n` lines, "" for none), hop-by-hop removed. */
  fields: string;
  /** Flat [name, value, ...], sent after `fields`, hop-by-hop fields already removed. */
  headers: readonly string[];
  /** The request body to stream, or null. */
  body: Readable | null;
  /** The body has no Content-Length: send it chunked. */
  chunked: boolean;
}

/** The head of `request` as sent upstream: request line, fields, framing, blank line. */
export function upstreamHead(request: UpstreamRequest, closeEach: boolean): string {
  const headers = request.headers;
  let head = `${request.method} ${request.path} HTTP/1.1\r\n${request.fields}`;
  for (let i = 0; i < headers.length; i += 2) head += `${headers[i]}: ${headers[i + 1]}\r\n`;
  if (request.body !== null && request.chunked) head += "transfer-encoding: chunked\r\n";
  return head + (closeEach ? "connection: close\r\n\r\n" : "\r\n");
}

/** Receives the outcome of one upstream request; exactly one of end or error ends it. */
export interface UpstreamHandler {
  /** The request got a connected socket and is being written. */
  onUpstreamConnect(connection: UpstreamConnection): void;
  /**
   * The final response head; false when the handler aborted the request. `fields`: the same
   * fields as the backend's own lines, when they can be passed on as they are.
   */
  onUpstreamHead(
    status: number,
    reason: string,
    headers: string[],
    fields: ResponseFields | undefined,
  ): boolean;
  /** Body bytes (`last`: they end the body); false asks for a pause until `resume()`. */
  onUpstreamData(chunk: Buffer, last: boolean): boolean;
  onUpstreamEnd(): void;
  onUpstreamError(error: Error & { code?: string }): void;
  /** Request body bytes written. */
  onUpstreamBodySent(bytes: number): void;
}

/** Timeouts and limits of a connection, shared by its pool. */
export interface ConnectionOptions {
  connectTimeoutMs: number;
  responseTimeoutMs: number;
  bodyTimeoutMs: number;
  idleTimeoutMs: number;
  maxHeaderSize: number;
  /** Send `Connection: close` and never reuse (upstream_keepalive 0). */
  closeEach: boolean;
}

/** What a connection tells its pool. */
export interface ConnectionOwner {
  readonly options: ConnectionOptions;
  /** The connection is free for another request. */
  released(connection: UpstreamConnection): void;
  /** The connection closed and is no longer usable. */
  removed(connection: UpstreamConnection): void;
}

/** An upstream failure with a code the exchange maps to a status and a log line. */
export class UpstreamError extends Error {
  constructor(
    readonly code: string,
    message: string,
  ) {
    super(message);
  }
}

/** Codes of UpstreamError. */
export const CONNECT_TIMEOUT = "UPSTREAM_CONNECT_TIMEOUT";
export const RESPONSE_TIMEOUT = "UPSTREAM_RESPONSE_TIMEOUT";
export const BODY_TIMEOUT = "UPSTREAM_BODY_TIMEOUT";
export const BAD_RESPONSE = "UPSTREAM_BAD_RESPONSE";
export const CLOSED = "UPSTREAM_CLOSED";

/** Bytes per read from a backend (node's own read size). */
const READ_SIZE = 64 * 1024;
/** Body bytes up to this size are copied out of the read buffer (node's pool serves them). */
const COPY_BELOW = 4096;

enum Phase {
  Connecting,
  Idle,
  /** Request written (or being written), waiting for the response head. */
  Head,
  Body,
  Closed,
}

/** A keep-alive socket to one backend. */
export class UpstreamConnection implements ResponseSink, Deadlined {
  readonly socket: Socket;
  deadline = 0;
  private phase = Phase.Connecting;
  private readonly parser: ResponseParser;
  private handler: UpstreamHandler | undefined;
  private body: Readable | null = null;
  private bodyChunked = false;
  /** The request body has been written completely. */
  private bodyDone = true;
  private corked = false;
  /** Some of the current request was written (an abort must then close the socket). */
  private written = false;
  private completed = false;
  private paused = false;
  /** True while send() hands the socket over: an abort then leaves the release to send(). */
  private handingOver = false;
  private readBuffer: Buffer | undefined;
  /** A view of `readBuffer` went to the handler: the next read needs a new buffer. */
  private readBufferLent = false;
  /** The request waiting for the connect. */
  private first: UpstreamRequest | undefined;
  private firstHandler: UpstreamHandler | undefined;

  constructor(
    private readonly owner: ConnectionOwner,
    host: string,
    port: number,
    request: UpstreamRequest,
    handler: UpstreamHandler,
  ) {
    const options = owner.options;
    this.parser = new ResponseParser(this, options.maxHeaderSize);
    this.first = request;
    this.firstHandler = handler;
    this.onBodyData = this.onBodyData.bind(this);
    this.onBodyEnd = this.onBodyEnd.bind(this);
    this.onBodyError = this.onBodyError.bind(this);
    // Reads land in the connection's own buffer and come straight to the parser (node's
    // `onread`): no Buffer allocated per read and no readable-stream bookkeeping.
    const socket = connect({
      host,
      port,
      noDelay: true,
      onread: {
        buffer: () => this.nextReadBuffer(),
        callback: (length: number, buffer: Uint8Array): boolean => {
          this.onSocketData((buffer as Buffer).subarray(0, length));
          return true; // a pause is asked by onSocketData itself
        },
      },
    });
    this.socket = socket;
    socket.on("connect", () => this.onConnected());
    socket.on("end", () => this.onSocketEnd());
    socket.on("error", (error: Error) => this.onSocketError(error));
    socket.on("close", () => this.onSocketClose());
    socket.on("drain", () => this.onSocketDrain());
    this.deadline = deadlineIn(options.connectTimeoutMs);
    watch(this);
  }

  /** True while idle in its pool, ready for a request. */
  get idle(): boolean {
    return this.phase === Phase.Idle;
  }

  /**
   * Sends a request on this idle connection. Returns false when the handler gave the request
   * up on receiving the socket (its client left while it waited): the connection is still idle
   * and the caller offers it to the next request, in a loop rather than a nested call each.
   */
  send(request: UpstreamRequest, handler: UpstreamHandler): boolean {
    const options = this.owner.options;
    this.handler = handler;
    this.phase = Phase.Head;
    this.completed = false;
    this.paused = false;
    this.written = false;
    this.parser.reset(request.method === "HEAD");
    this.handingOver = true;
    handler.onUpstreamConnect(this);
    this.handingOver = false;
    if (this.handler !== handler) {
      // Aborted before a byte was written (the client left while the request waited).
      return false;
    }
    const head = upstreamHead(request, options.closeEach);
    const body = request.body;
    const socket = this.socket;
    this.written = true;
    if (body === null) {
      this.bodyDone = true;
      this.deadline = deadlineIn(options.responseTimeoutMs);
      socket.write(head, "latin1");
      return true;
    }
    // The head waits (corked) for the first body chunk, so both leave in one write.
    this.body = body;
    this.bodyChunked = request.chunked;
    this.bodyDone = false;
    this.deadline = deadlineIn(options.bodyTimeoutMs);
    socket.cork();
    this.corked = true;
    socket.write(head, "latin1");
    body.on("data", this.onBodyData);
    body.on("end", this.onBodyEnd);
    body.on("error", this.onBodyError);
    return true;
  }

  /** Ends the current request: the socket is closed (its state is unknown) unless nothing was written yet. */
  abort(handler: UpstreamHandler, error: Error): void {
    if (this.handler !== handler) return;
    this.handler = undefined;
    this.parser.stop();
    this.detachBody();
    if (this.phase === Phase.Head && !this.written) {
      // Nothing was sent on this socket: it stays usable.
      this.phase = Phase.Idle;
      this.deadline = deadlineIn(this.owner.options.idleTimeoutMs);
      if (!this.handingOver) this.owner.released(this);
    } else {
      this.close();
    }
    handler.onUpstreamError(error);
  }

  /** Reads on after a pause asked by `handler`'s onUpstreamData. */
  resume(handler: UpstreamHandler): void {
    if (this.handler !== handler || !this.paused || this.phase === Phase.Closed) return;
    this.paused = false;
    this.deadline = deadlineIn(this.owner.options.bodyTimeoutMs);
    this.socket.resume();
  }

  /** Closes the socket now. */
  close(): void {
    if (this.phase === Phase.Closed) return;
    this.phase = Phase.Closed;
    this.deadline = 0;
    unwatch(this);
    this.socket.destroy();
    this.owner.removed(this);
  }

  // ---- response (ResponseSink) ----------------------------------------------------------

  onResponseHead(
    status: number,
    reason: string,
    headers: string[],
    fields: ResponseFields | undefined,
  ): boolean {
    const handler = this.handler;
    if (handler === undefined) return false;
    this.phase = Phase.Body;
    this.deadline = deadlineIn(this.owner.options.bodyTimeoutMs);
    return handler.onUpstreamHead(status, reason, headers, fields);
  }

  onResponseData(chunk: Buffer, last: boolean): void {
    const handler = this.handler;
    if (handler === undefined) return;
    // `chunk` is a view of the read buffer, which the next read overwrites: a small one is
    // copied (from node's shared pool), a large one is lent and the next read gets a new
    // buffer. The data of several chunks joined by the parser is already a copy of its own.
    let data: Buffer;
    if (chunk.buffer !== this.readBuffer?.buffer) data = chunk;
    else if (chunk.length <= COPY_BELOW) data = Buffer.from(chunk);
    else {
      data = chunk;
      this.readBufferLent = true;
    }
    if (!handler.onUpstreamData(data, last)) {
      this.paused = true;
      this.deadline = 0;
    }
  }

  onResponseEnd(): void {
    this.completed = true;
  }

  onDeadline(): void {
    switch (this.phase) {
      case Phase.Connecting:
        this.failConnect(new UpstreamError(CONNECT_TIMEOUT, "connect timeout"));
        return;
      case Phase.Head:
        if (this.bodyDone) this.fail(new UpstreamError(RESPONSE_TIMEOUT, "response timeout"));
        else this.fail(new UpstreamError(BODY_TIMEOUT, "request body stalled"));
        return;
      case Phase.Body:
        this.fail(new UpstreamError(BODY_TIMEOUT, "response body stalled"));
        return;
      default:
        this.close();
    }
  }

  // ---- socket events --------------------------------------------------------------------

  /** The buffer the next read goes into: the same one unless a view of it was lent. */
  private nextReadBuffer(): Buffer {
    if (this.readBufferLent || this.readBuffer === undefined) {
      this.readBufferLent = false;
      this.readBuffer = Buffer.allocUnsafe(READ_SIZE);
    }
    return this.readBuffer;
  }

  private onConnected(): void {
    const request = this.first;
    const handler = this.firstHandler;
    this.first = undefined;
    this.firstHandler = undefined;
    if (this.phase !== Phase.Connecting) return;
    this.phase = Phase.Idle;
    if (request === undefined || handler === undefined || !this.send(request, handler)) {
      this.owner.released(this);
    }
  }

  private onSocketData(chunk: Buffer): void {
    if (this.handler === undefined) {
      // Bytes nobody asked for (or after an abort): the connection cannot be trusted.
      this.close();
      return;
    }
    if (this.phase === Phase.Body && !this.paused) {
      this.deadline = deadlineIn(this.owner.options.bodyTimeoutMs);
    }
    if (!this.parser.execute(chunk)) {
      this.fail(new UpstreamError(BAD_RESPONSE, `bad response: ${this.parser.error}`));
      return;
    }
    if (this.completed) this.complete();
    else if (this.paused) this.socket.pause();
  }

  private onSocketEnd(): void {
    if (this.handler !== undefined && this.parser.endOfInput() && this.completed) {
      this.complete();
      return;
    }
    if (this.handler !== undefined) {
      this.fail(new UpstreamError(CLOSED, "backend closed the connection"));
    } else this.close();
  }

  private onSocketError(error: Error): void {
    if (this.phase === Phase.Connecting) this.failConnect(error);
    else this.fail(error);
  }

  private onSocketClose(): void {
    if (this.phase === Phase.Connecting) {
      this.failConnect(new UpstreamError(CLOSED, "connection closed while connecting"));
      return;
    }
    if (this.handler !== undefined) {
      this.fail(new UpstreamError(CLOSED, "backend closed the connection"));
      return;
    }
    this.close();
  }

  private onSocketDrain(): void {
    if (this.body?.isPaused()) this.body.resume();
  }

  /** The response is complete: the handler is told, then the socket goes back or closes. */
  private complete(): void {
    const handler = this.handler!;
    this.handler = undefined;
    const reusable = this.parser.keepAlive && this.bodyDone && !this.owner.options.closeEach;
    this.detachBody();
    if (reusable) {
      this.phase = Phase.Idle;
      const hint = this.parser.keepAliveHintMs;
      const idle = this.owner.options.idleTimeoutMs;
      // A backend's Keep-Alive: timeout=N is honoured minus a second.
      this.deadline = deadlineIn(hint > 0 ? Math.min(idle, Math.max(0, hint - 1000)) : idle);
    } else {
      this.close();
    }
    handler.onUpstreamEnd();
    if (reusable && this.phase === Phase.Idle) this.owner.released(this);
  }

  /** The connect failed: the waiting request learns it (nothing of it was sent). */
  private failConnect(error: Error): void {
    const handler = this.firstHandler;
    this.firstHandler = undefined;
    this.first = undefined;
    this.close();
    handler?.onUpstreamError(error);
  }

  /** Fails the current request (if any) and closes the socket. */
  private fail(error: Error): void {
    const handler = this.handler;
    this.handler = undefined;
    this.parser.stop();
    this.detachBody();
    this.close();
    handler?.onUpstreamError(error);
  }

  // ---- request body ---------------------------------------------------------------------

  private onBodyData(chunk: Buffer): void {
    const socket = this.socket;
    if (this.bodyChunked) {
      if (!this.corked) socket.cork();
      socket.write(`${chunk.length.toString(16)}\r\n`, "latin1");
      socket.write(chunk);
      socket.write("\r\n", "latin1");
      socket.uncork();
    } else {
      socket.write(chunk);
      if (this.corked) socket.uncork();
    }
    this.corked = false;
    this.deadline = deadlineIn(this.owner.options.bodyTimeoutMs);
    this.handler?.onUpstreamBodySent(chunk.length);
    if (socket.writableNeedDrain) this.body?.pause();
  }

  private onBodyEnd(): void {
    if (this.bodyChunked) this.socket.write("0\r\n\r\n", "latin1");
    if (this.corked) {
      this.corked = false;
      this.socket.uncork();
    }
    this.detachBody();
    this.bodyDone = true;
    if (this.phase === Phase.Head) {
      this.deadline = deadlineIn(this.owner.options.responseTimeoutMs);
    }
  }

  private onBodyError(): void {
    // The client's body broke off: the backend got a partial request, the socket is spoiled.
    this.fail(new UpstreamError(CLOSED, "request body aborted"));
  }

  private detachBody(): void {
    const body = this.body;
    if (body === null) return;
    this.body = null;
    body.off("data", this.onBodyData);
    body.off("end", this.onBodyEnd);
    body.off("error", this.onBodyError);
    // A head still corked means the body never came: the socket is closed, never flushed,
    // so the backend does not see half a request.
    this.corked = false;
  }
}
