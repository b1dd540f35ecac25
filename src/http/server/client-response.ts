/**
 * A response as ballast's own server lets the HTTP plane write it: the parts of node's
 * `ServerResponse` the plane uses (writeHead with a flat header list, write, end,
 * writeContinue, setHeader, the close and drain events), written straight to the socket.
 *
 * The head is built as one string and leaves with the first body bytes; a response whose
 * body is known at its end (`end(body)`) goes out in one write, with a Content-Length. The
 * framing is the server's: Content-Length when the head has one, else chunked coding to an
 * HTTP/1.1 client, else the end of the connection; none for HEAD, 1xx, 204 and 304.
 */
import { EventEmitter } from "node:events";
import { STATUS_CODES } from "node:http";
import type { ClientRequest } from "./client-request.js";

/** What the response needs from its connection. */
export interface ResponseOwner {
  /** Writes `head` (latin1), then `body`, then `tail` (latin1), in as few writes as it can. */
  send(head: string, body: Buffer | undefined, tail: string): boolean;
  /** The response was written completely. */
  responseEnded(response: ClientResponse, keepAlive: boolean): void;
  /** Cuts the connection. */
  destroy(): void;
  readonly destroyed: boolean;
}

/** Bodies of these statuses are never sent (RFC 9110 6.4.1). */
function bodyless(status: number): boolean {
  return status === 204 || status === 304 || status < 200;
}

let dateSecond = 0;
let dateValue = "";

/** The Date field's value, formatted once a second (as nginx keeps its cached time). */
export function httpDate(): string {
  const now = Date.now();
  const second = Math.floor(now / 1000);
  if (second !== dateSecond) {
    dateSecond = second;
    dateValue = new Date(now).toUTCString();
  }
  return dateValue;
}

/** One response of ballast's own server (a ServerResponse stand-in). */
export class ClientResponse extends EventEmitter {
  statusCode = 200;
  headersSent = false;
  writableEnded = false;
  /** Keep the connection for another request (cleared to close it after this response). */
  shouldKeepAlive: boolean;
  /** Told first when the connection closes early: a `close` listener without one per request. */
  closeWatcher: { clientClosed(): void } | undefined = undefined;
  /** Fields from setHeader(), merged into the head by writeHead(). */
  private extra: string[] | undefined;
  /** The head (status line and fields) waiting for the first body bytes. */
  private head: string | undefined;
  private hasLength = false;
  private hasDate = false;
  private noBody = false;
  private chunked = false;
  private closed = false;

  constructor(
    private readonly owner: ResponseOwner,
    readonly req: ClientRequest,
    keepAlive: boolean,
  ) {
    super();
    this.shouldKeepAlive = keepAlive;
  }

  /** True once the connection is gone. */
  get destroyed(): boolean {
    return this.owner.destroyed;
  }

  /** A field for the head that writeHead() writes. */
  setHeader(name: string, value: string | number): this {
    if (this.extra === undefined) this.extra = [];
    this.extra.push(name, String(value));
    return this;
  }

  /** Sets the status and fields; they are written with the first body bytes. */
  writeHead(
    status: number,
    reasonOrHeaders?: string | readonly string[] | Record<string, string | number>,
    headers?: readonly string[] | Record<string, string | number>,
  ): this {
    let reason: string | undefined;
    if (typeof reasonOrHeaders === "string") reason = reasonOrHeaders;
    else headers = reasonOrHeaders;
    this.statusCode = status;
    let head = `HTTP/1.1 ${status} ${reason || STATUS_CODES[status] || "unknown"}\r\n`;
    if (this.extra !== undefined) head = this.addFields(head, this.extra);
    if (headers !== undefined) {
      if (Array.isArray(headers)) head = this.addFields(head, headers);
      else {
        const flat: string[] = [];
        for (const [name, value] of Object.entries(headers)) flat.push(name, String(value));
        head = this.addFields(head, flat);
      }
    }
    this.head = head;
    this.noBody = bodyless(status) || this.req.method === "HEAD";
    return this;
  }

  /**
   * As writeHead, with the fields as ready lines (`name: value\r\n`, a backend's head passed
   * on as received) and whether Content-Length and Date are among them.
   */
  writeHeadLines(
    status: number,
    reason: string,
    fields: { readonly text: string; readonly hasLength: boolean; readonly hasDate: boolean },
  ): this {
    this.statusCode = status;
    let head = `HTTP/1.1 ${status} ${reason || STATUS_CODES[status] || "unknown"}\r\n`;
    if (this.extra !== undefined) head = this.addFields(head, this.extra);
    this.head = head + fields.text;
    if (fields.hasLength) this.hasLength = true;
    if (fields.hasDate) this.hasDate = true;
    this.noBody = bodyless(status) || this.req.method === "HEAD";
    return this;
  }

  /** Writes body bytes (the head goes with the first); false when the socket is full. */
  write(chunk: Buffer | string): boolean {
    if (this.writableEnded) return false;
    const body = typeof chunk === "string" ? Buffer.from(chunk) : chunk;
    if (this.head === undefined) this.writeHead(this.statusCode);
    if (!this.headersSent) {
      const head = this.finishHead(undefined);
      if (this.noBody) return this.owner.send(head, undefined, "");
      if (this.chunked)
        return this.owner.send(`${head}${body.length.toString(16)}\r\n`, body, "\r\n");
      return this.owner.send(head, body, "");
    }
    if (this.noBody || body.length === 0) return true;
    if (this.chunked) return this.owner.send(`${body.length.toString(16)}\r\n`, body, "\r\n");
    return this.owner.send("", body, "");
  }

  /** Ends the response, with `chunk` as its last body bytes. */
  end(chunk?: Buffer | string): this {
    if (this.writableEnded) return this;
    const body =
      chunk === undefined ? undefined : typeof chunk === "string" ? Buffer.from(chunk) : chunk;
    if (this.head === undefined) this.writeHead(this.statusCode);
    let head = "";
    if (!this.headersSent) head = this.finishHead(body?.length ?? 0);
    this.writableEnded = true;
    if (this.noBody) {
      if (head.length > 0) this.owner.send(head, undefined, "");
    } else if (this.chunked) {
      const size = body !== undefined && body.length > 0 ? body.length : 0;
      if (size > 0) this.owner.send(`${head}${size.toString(16)}\r\n`, body, "\r\n0\r\n\r\n");
      else this.owner.send(head, undefined, "0\r\n\r\n");
    } else if (head.length > 0 || (body !== undefined && body.length > 0)) {
      this.owner.send(head, body, "");
    }
    this.owner.responseEnded(this, this.shouldKeepAlive);
    return this;
  }

  /**
   * Ends the response with bytes framed by the caller: `head` (latin1, ending in the empty
   * line, with Content-Length) and `body`, or the whole response in `body` with an empty
   * `head`. For an HTTP/1.1 keep-alive answer (no Connection field needed), such as a cache
   * hit whose head was serialized once.
   */
  endFramed(status: number, head: string, body: Buffer): void {
    if (this.writableEnded || this.headersSent) return;
    this.statusCode = status;
    this.headersSent = true;
    this.writableEnded = true;
    this.owner.send(head, body, "");
    this.owner.responseEnded(this, this.shouldKeepAlive);
  }

  /** Answers `Expect: 100-continue`. */
  writeContinue(): void {
    if (!this.headersSent) this.owner.send("HTTP/1.1 100 Continue\r\n\r\n", undefined, "");
  }

  /** Cuts the connection (a response that cannot be finished honestly). */
  destroy(): this {
    this.owner.destroy();
    return this;
  }

  /** The connection closed before this response ended: `close`, once. */
  closedEarly(): void {
    if (this.closed || this.writableEnded) return;
    this.closed = true;
    this.closeWatcher?.clientClosed();
    this.emit("close");
  }

  /** Appends `fields` to `head`, noting the ones the framing depends on. */
  private addFields(head: string, fields: readonly string[]): string {
    for (let i = 0; i < fields.length; i += 2) {
      const name = fields[i];
      if (name.length === 14 && name.toLowerCase() === "content-length") this.hasLength = true;
      else if (name.length === 4 && name.toLowerCase() === "date") this.hasDate = true;
      head += `${name}: ${fields[i + 1]}\r\n`;
    }
    return head;
  }

  /**
   * The head with the server's fields: the framing (`endLength` is the body's length when
   * the whole body is known), Date, and Connection.
   */
  private finishHead(endLength: number | undefined): string {
    let head = this.head!;
    this.headersSent = true;
    const http11 = this.req.httpVersionMinor >= 1;
    if (!this.noBody && !this.hasLength) {
      if (endLength !== undefined) head += `content-length: ${endLength}\r\n`;
      else if (http11) {
        this.chunked = true;
        head += "transfer-encoding: chunked\r\n";
      } else this.shouldKeepAlive = false; // an HTTP/1.0 body ends with the connection
    }
    if (!this.hasDate) head += `date: ${httpDate()}\r\n`;
    if (!this.shouldKeepAlive) head += "connection: close\r\n";
    else if (!http11) head += "connection: keep-alive\r\n";
    return `${head}\r\n`;
  }
}
