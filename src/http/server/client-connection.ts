/**
 * One client connection of ballast's own HTTP server: the socket's bytes go through the
 * strict request parser; each request becomes a ClientRequest and ClientResponse handed to
 * the listener. Requests are answered in order, one at a time: after a complete request the
 * parser waits (the rest of the bytes kept, the socket paused) until its response ended, so
 * pipelining needs no queue of responses. Timeouts are deadlines on the coarse shared clock:
 * the head must arrive within `headersTimeout` (else 408), an idle keep-alive connection
 * closes after `keepAliveTimeout`.
 */
import type { Socket } from "node:net";
import { type Deadlined, deadlineIn, unwatch, watch } from "../upstream/deadlines.js";
import { ClientRequest, type RequestOwner } from "./client-request.js";
import { ClientResponse, type ResponseOwner } from "./client-response.js";
import { RequestParser, type RequestSink } from "./request-parser.js";

/** Bodies up to this size are copied into the head's buffer: one write, no writev. */
const COPY_LIMIT = 16 * 1024;
const CONTINUE = /^100-continue$/i;

/** What a connection needs from its server. */
export interface ConnectionServer {
  readonly maxHeaderSize: number;
  readonly headersTimeout: number;
  readonly keepAliveTimeout: number;
  /** A request is ready for the listener (`checkContinue` for `Expect: 100-continue`). */
  onRequest(req: ClientRequest, res: ClientResponse, expectContinue: boolean): void;
  /** An upgrade or CONNECT request: the socket and the bytes after the head are the listener's. */
  onUpgrade(req: ClientRequest, socket: Socket, early: Buffer): void;
  /** A malformed head or a slow one: the listener answers on the raw socket and closes it. */
  onClientError(error: Error & { code: string }, socket: Socket): void;
  /** An idle keep-alive connection closed. */
  onIdleTimeout(socket: Socket): void;
  removed(connection: ClientConnection): void;
}

/** The HTTP/1.1 server side of one client socket. */
export class ClientConnection implements RequestSink, RequestOwner, ResponseOwner, Deadlined {
  deadline = 0;
  private readonly parser: RequestParser;
  /** The request whose head or body is being read; cleared at its end. */
  private request: ClientRequest | undefined;
  private response: ClientResponse | undefined;
  /** Bytes received but not parsed yet (a response is pending, or the body is paused). */
  private buffered: Buffer | undefined;
  /** The current request's body consumer wants bytes. */
  private bodyFlowing = true;
  private feeding = false;
  /** No more requests are read: the connection ends after the current response. */
  private closing = false;
  /** A response was written on this connection (timeouts after it are idle ones). */
  private served = false;
  private detached = false;
  private readonly onData = (chunk: Buffer) => this.received(chunk);
  private readonly onEnd = () => this.peerEnded();
  private readonly onClose = () => this.closed();
  private readonly onDrain = () => this.response?.emit("drain");

  constructor(
    private readonly server: ConnectionServer,
    readonly socket: Socket,
  ) {
    this.parser = new RequestParser(this, server.maxHeaderSize);
    socket.on("data", this.onData);
    socket.on("end", this.onEnd);
    socket.on("close", this.onClose);
    socket.on("drain", this.onDrain);
    socket.on("error", noop);
    this.deadline = deadlineIn(server.headersTimeout);
    watch(this);
  }

  /** True while no request is in progress and none has begun to arrive. */
  get idle(): boolean {
    return this.response === undefined && this.parser.idle && this.buffered === undefined;
  }

  /** True once the socket is gone. */
  get destroyed(): boolean {
    return this.socket.destroyed;
  }

  /** Parses `early` (bytes read by someone else) as the first bytes, then reads the socket. */
  start(early: Buffer): void {
    if (early.length > 0) this.buffered = early;
    this.readOn();
  }

  /** Closes the connection now. */
  destroy(): void {
    this.socket.destroy();
  }

  // ---- bytes in -----------------------------------------------------------------------------

  private received(chunk: Buffer): void {
    const buffered = this.buffered;
    if (buffered !== undefined) {
      this.buffered = undefined;
      chunk = Buffer.concat([buffered, chunk]);
    }
    this.feed(chunk);
  }

  private feed(chunk: Buffer): void {
    const parser = this.parser;
    this.feeding = true;
    let at = 0;
    while (at < chunk.length && !this.closing) {
      if (parser.done) {
        if (this.response !== undefined || this.closing) break;
        parser.next();
      }
      if (!this.bodyFlowing && parser.inBody) break;
      const wasIdle = parser.idle;
      at = parser.execute(chunk, at);
      if (at < 0) {
        this.feeding = false;
        this.malformed();
        return;
      }
      if (wasIdle && parser.inHead) this.deadline = deadlineIn(this.server.headersTimeout);
      if (parser.upgraded) {
        this.feeding = false;
        this.upgrade(chunk.subarray(at));
        return;
      }
    }
    this.feeding = false;
    if (at < chunk.length && !this.closing) {
      // Kept until the response ends or the body is wanted; the socket waits meanwhile.
      this.buffered = chunk.subarray(at);
      this.socket.pause();
    }
  }

  /** Reads on: the buffered bytes first, then the socket. */
  private readOn(): void {
    if (this.feeding || this.closing || this.detached) return;
    const buffered = this.buffered;
    if (buffered !== undefined) {
      this.buffered = undefined;
      this.feed(buffered);
    }
    if (this.buffered === undefined && !this.closing) this.socket.resume();
  }

  // ---- the parser's callbacks (RequestSink) ----------------------------------------------------

  onRequestHead(): void {
    const parser = this.parser;
    this.deadline = 0;
    const req = new ClientRequest(
      this,
      this.socket,
      parser.method,
      parser.url,
      parser.versionMajor,
      parser.versionMinor,
      parser.rawHeaders,
      parser.fieldText,
    );
    this.request = req;
    if (parser.upgrade) return; // handed over when execute() returns
    this.bodyFlowing = true;
    const res = new ClientResponse(this, req, parser.keepAlive && !this.closing);
    this.response = res;
    const expect = parser.expect;
    if (expect !== undefined && parser.versionMajor === 1 && parser.versionMinor >= 1) {
      if (CONTINUE.test(expect)) this.server.onRequest(req, res, true);
      else {
        // RFC 9110 10.1.1: an expectation the server cannot meet (node answers the same).
        res.shouldKeepAlive = false;
        res.writeHead(417, ["content-length", "0"]);
        res.end();
      }
      return;
    }
    this.server.onRequest(req, res, false);
  }

  onRequestData(chunk: Buffer): void {
    if (!this.request!.push(chunk)) this.bodyFlowing = false;
    // A body dropped after its response must keep coming, as an idle connection must.
    if (this.response === undefined) this.deadline = deadlineIn(this.server.keepAliveTimeout);
  }

  onRequestEnd(): void {
    const request = this.request!;
    this.request = undefined;
    request.pushEnd();
  }

  /** The body's consumer wants more (RequestOwner). */
  bodyWanted(): void {
    this.bodyFlowing = true;
    this.readOn();
  }

  // ---- bytes out (ResponseOwner) ---------------------------------------------------------------

  send(head: string, body: Buffer | undefined, tail: string): boolean {
    const socket = this.socket;
    if (socket.destroyed) return false;
    if (body === undefined || body.length === 0) return socket.write(head + tail, "latin1");
    // A whole response serialized by the caller (a cache hit): written as it is.
    if (head.length === 0 && tail.length === 0) return socket.write(body);
    if (body.length <= COPY_LIMIT) {
      const headLength = head.length;
      const out = Buffer.allocUnsafe(headLength + body.length + tail.length);
      out.write(head, 0, "latin1");
      body.copy(out, headLength);
      if (tail.length > 0) out.write(tail, headLength + body.length, "latin1");
      return socket.write(out);
    }
    socket.cork();
    if (head.length > 0) socket.write(head, "latin1");
    socket.write(body);
    const ok = tail.length > 0 ? socket.write(tail, "latin1") : !socket.writableNeedDrain;
    socket.uncork();
    return ok && !socket.writableNeedDrain;
  }

  responseEnded(response: ClientResponse, keepAlive: boolean): void {
    if (response !== this.response) return;
    this.response = undefined;
    this.served = true;
    const request = this.request;
    if (!keepAlive) {
      this.close();
      return;
    }
    if (request !== undefined) {
      // Answered before its body arrived (a refusal, a cache hit): the rest is read and
      // dropped so that the next request is found (node does the same).
      request.dump();
      this.bodyFlowing = true;
      // Until the body's end: a client that never sends it would hold the socket forever.
      this.deadline = deadlineIn(this.server.keepAliveTimeout);
    }
    this.readOn();
    if (this.response === undefined && this.parser.done && this.buffered === undefined) {
      // Nothing of the next request yet: the connection idles for at most keepAliveTimeout.
      this.parser.next();
      this.deadline = deadlineIn(this.server.keepAliveTimeout);
    }
  }

  // ---- endings ------------------------------------------------------------------------------------

  /** Stops reading and ends the connection once what was written has left. */
  private close(): void {
    this.closing = true;
    this.buffered = undefined;
    this.deadline = deadlineIn(this.server.keepAliveTimeout);
    this.socket.end();
  }

  /** The parser refused the bytes: 400, 414 or 431 (the listener writes it) and the close. */
  private malformed(): void {
    const parser = this.parser;
    const error = new Error(parser.error) as Error & { code: string; status: number };
    error.code = parser.code;
    error.status = parser.status;
    const response = this.response;
    this.closing = true;
    this.buffered = undefined;
    this.deadline = deadlineIn(this.server.keepAliveTimeout);
    if (response !== undefined) {
      // A broken body under way: its exchange learns first that the client is gone (so it
      // answers nothing itself), then the body's reader that it broke off.
      this.response = undefined;
      response.closedEarly();
      this.request?.abort();
      if (response.headersSent) {
        this.socket.destroy();
        return;
      }
    }
    this.server.onClientError(error, this.socket);
  }

  /** An upgrade or CONNECT head: the socket leaves this server with the bytes after it. */
  private upgrade(early: Buffer): void {
    const req = this.request!;
    this.request = undefined;
    // The no-op error listener stays: an error before the new owner listens must not throw.
    this.detach(false);
    // Flowing, as node hands an upgraded socket over: whoever takes it pauses it at once.
    this.socket.resume();
    this.server.onUpgrade(req, this.socket, early);
  }

  private peerEnded(): void {
    // The client's FIN ends its requests (node's default, nginx's 499): a response still to
    // come is abandoned; one already written leaves before our own FIN.
    if (this.response !== undefined || this.parser.inHead || this.parser.inBody) {
      this.socket.destroy();
      return;
    }
    if (!this.closing) this.close();
  }

  onDeadline(): void {
    if (this.closing) {
      this.socket.destroy();
      return;
    }
    if (this.response !== undefined) return;
    if (this.parser.inBody) {
      // The body of an answered request stalled: nothing is owed to the client.
      this.closing = true;
      this.socket.destroy();
      return;
    }
    // Idle: nothing of a next request yet (`done`: a dropped body ended with the last read).
    if (this.served && (this.parser.idle || this.parser.done) && this.buffered === undefined) {
      this.closing = true;
      this.server.onIdleTimeout(this.socket);
      this.socket.destroy();
      return;
    }
    // The head did not arrive in time (slowloris): 408.
    this.closing = true;
    const error = new Error("request head timeout") as Error & { code: string };
    error.code = "ERR_HTTP_REQUEST_TIMEOUT";
    this.deadline = deadlineIn(this.server.keepAliveTimeout);
    this.server.onClientError(error, this.socket);
  }

  private closed(): void {
    const response = this.response;
    this.response = undefined;
    response?.closedEarly();
    this.request?.abort();
    this.detach(true);
  }

  private detach(all: boolean): void {
    if (this.detached) return;
    this.detached = true;
    const socket = this.socket;
    socket.off("data", this.onData);
    socket.off("end", this.onEnd);
    socket.off("close", this.onClose);
    socket.off("drain", this.onDrain);
    if (all) socket.off("error", noop);
    this.deadline = 0;
    unwatch(this);
    this.server.removed(this);
  }
}

function noop(): void {}
