/**
 * Upgrade passthrough (WebSocket, h2c, anything with `Connection: upgrade`): connect to a
 * backend, send the request head, and read the backend's answer. Only a `101 Switching
 * Protocols` opens a tunnel (the two sockets piped until either side closes; the proxy does
 * not speak the upgraded protocol). Any other answer is an ordinary response: it is passed
 * to the client, framed anew, and the client connection goes back to the HTTP server, so
 * whatever the client sent after the upgrade request is parsed, routed and checked as HTTP
 * (RFC 9110 7.8), never tunnelled raw to a backend.
 *
 * Bytes the client sends after the upgrade request wait until the backend said 101. The
 * lease stays active for the tunnel's whole life, so connection-count algorithms see
 * WebSocket load.
 */
import { STATUS_CODES } from "node:http";
import type { Socket } from "node:net";
import type { Duplex } from "node:stream";
import type { Logger } from "../log.js";
import { BackendConnector } from "../net/backend-connector.js";
import type { Lease } from "../pool/lease.js";
import type { Pool } from "../pool/pool.js";
import { HeadBytes } from "./head-bytes.js";
import { ResponseParser, type ResponseSink } from "./upstream/response-parser.js";

/** What an upgrade needs from its listener. */
export interface UpgradeContext {
  readonly name: string;
  logger: Logger;
  connectTimeoutMs: number;
  /** How long the backend may take to answer the upgrade request. */
  responseTimeoutMs: number;
  maxHeaderSize: number;
  accessLog: boolean;
  /** Set once a graceful stop began: a refused upgrade then closes its connection. */
  stopping: boolean;
  /** Open tunnels, closed at the end of a graceful stop. */
  readonly tunnels: Set<Duplex>;
  onTunnelEnd(): void;
  /** Hands a client connection back to the HTTP server, `early` being its next bytes. */
  resumeHttp(client: Duplex, early: Buffer): void;
}

/** One upgrade request to tunnel. */
export interface UpgradeRequest {
  method: string;
  path: string;
  /** Upstream header list, Upgrade and `Connection: upgrade` kept. */
  headers: string[];
  requestId: string;
  /** Bytes the client sent after the head (already read by node). */
  early: Buffer;
}

const SWITCHING = /^HTTP\/1\.[01] 101(?: |\r)/;
const CRLF_CRLF = Buffer.from("\r\n\r\n");

/**
 * Sends `request` to a backend of `pool` (a backend that refuses the connection is replaced
 * by another, each tried once: the TCP plane's connect-with-failover) and tunnels on 101 or
 * answers the client with the response.
 */
export function proxyUpgrade(
  ctx: UpgradeContext,
  client: Duplex,
  request: UpgradeRequest,
  pool: Pool,
  key: string | undefined,
): void {
  new UpgradeAttempt(ctx, client, request, pool, key).start();
}

/** One upgrade request from its connect to its tunnel's end (or its ordinary response). */
class UpgradeAttempt implements ResponseSink {
  private connector: BackendConnector | undefined;
  private connectFailures = 0;
  private lease: Lease | undefined;
  private upstream: Socket | undefined;
  private timer: NodeJS.Timeout | undefined;
  private readonly startedAt = performance.now();
  private ended = false;
  private tunnelOpen = false;
  /** The backend's answer until its head is complete (one copy per byte of a slow head). */
  private answer: HeadBytes | undefined;
  /** Set once the answer is known not to be a 101: it is parsed as a response. */
  private parser: ResponseParser | undefined;
  private responseChunked = false;
  private status = 0;
  private bytesIn = 0;
  private bytesOut = 0;

  constructor(
    private readonly ctx: UpgradeContext,
    private readonly client: Duplex,
    private readonly request: UpgradeRequest,
    private readonly pool: Pool,
    private readonly key: string | undefined,
  ) {}

  start(): void {
    const client = this.client;
    this.ctx.tunnels.add(client);
    client.pause();
    client.on("error", this.onClientError);
    client.once("close", this.onClientClose);
    // A client that ends before the tunnel exists is gone (once it is open, pipe() passes
    // the FIN on).
    client.once("end", this.onClientEnd);
    const pool = this.pool;
    this.connector = new BackendConnector(
      {
        selection: pool.select({ key: this.key }),
        connectTimeoutMs: this.ctx.connectTimeoutMs,
        // The request never left: every backend of the pool may be tried once.
        retries: pool.size,
        onConnected: (socket, lease) => this.onConnected(socket, lease),
        onAttemptFailed: () => {
          this.connectFailures++;
        },
        onGaveUp: (reason) => this.gaveUp(reason),
      },
      pool.clock,
    );
    this.connector.start();
  }

  private readonly onClientError = (): void => {
    this.client.destroy();
  };

  private readonly onClientClose = (): void => {
    if (this.upstream === undefined) this.connector?.cancel();
    else this.upstream.destroy();
    this.finish();
  };

  private readonly onClientEnd = (): void => {
    if (!this.tunnelOpen) this.client.destroy();
  };

  /** No backend accepted the connection. */
  private gaveUp(reason: string): void {
    if (this.client.destroyed) return;
    const status = this.connectFailures === 0 ? 503 : reason === "connect timeout" ? 504 : 502;
    this.ctx.logger.warn(
      { listener: this.ctx.name, id: this.request.requestId, reason },
      "upgrade: no backend took the connection",
    );
    this.refuse(status, reason);
  }

  /** A backend accepted: the request head goes out, and its answer is awaited. */
  private onConnected(upstream: Socket, lease: Lease): void {
    this.upstream = upstream;
    this.lease = lease;
    this.arm(this.ctx.responseTimeoutMs, "response timeout", 504);
    upstream.write(headText(this.request));
    upstream.on("data", (chunk: Buffer) => this.onUpstreamData(chunk));
    upstream.on("end", () => this.onUpstreamEnd());
    upstream.on("error", () => {});
    upstream.once("close", () => {
      if (this.upstream !== upstream) return;
      if (!this.tunnelOpen && !this.client.destroyed) {
        // Reset before its answer was complete (a FIN went through onUpstreamEnd).
        this.badAnswer("backend closed before answering");
        return;
      }
      this.disarm();
      this.upstream = undefined;
      // Idempotent: a bad answer released it already.
      lease.release({ ok: true, bytesIn: this.bytesIn, bytesOut: this.bytesOut });
      if (this.tunnelOpen) this.client.destroy();
    });
  }

  private onUpstreamData(chunk: Buffer): void {
    if (this.tunnelOpen) return;
    if (this.parser !== undefined) {
      this.parse(chunk);
      return;
    }
    if (this.answer === undefined) this.answer = new HeadBytes(this.ctx.maxHeaderSize + 4);
    const answer = this.answer;
    const held = answer.length;
    const head = held === 0 ? chunk : answer.append(chunk, 0);
    if (head.indexOf(CRLF_CRLF, Math.max(0, held - 3)) < 0) {
      if (head.length > this.ctx.maxHeaderSize) this.badAnswer("response head too large");
      else answer.keep(head, 0);
      return;
    }
    // The head and whatever followed it in this read (the first bytes of the tunnel).
    const buffered = held === 0 ? chunk : Buffer.concat([head.subarray(0, held), chunk]);
    answer.clear();
    if (SWITCHING.test(buffered.toString("latin1", 0, 16))) this.openTunnel(buffered);
    else {
      this.parser = new ResponseParser(this, this.ctx.maxHeaderSize);
      this.parser.reset(this.request.method === "HEAD");
      this.parse(buffered);
    }
  }

  private onUpstreamEnd(): void {
    if (this.tunnelOpen) return;
    if (this.parser?.endOfInput()) return;
    this.badAnswer("backend closed in the middle of its answer");
  }

  /** The backend switched protocols: its answer goes to the client, then bytes flow freely. */
  private openTunnel(answer: Buffer): void {
    const { client, upstream, lease } = this;
    if (upstream === undefined || lease === undefined) return;
    this.disarm();
    this.tunnelOpen = true;
    this.status = 101;
    client.off("end", this.onClientEnd);
    client.write(answer);
    this.bytesOut += answer.length;
    if (this.request.early.length > 0) {
      upstream.write(this.request.early);
      this.bytesIn += this.request.early.length;
    }
    // As on every data plane: bytesIn from the client, bytesOut back to it.
    upstream.on("data", (chunk: Buffer) => {
      this.bytesOut += chunk.length;
    });
    client.on("data", (chunk: Buffer) => {
      this.bytesIn += chunk.length;
    });
    upstream.pipe(client);
    client.pipe(upstream);
  }

  // ---- an answer other than 101: an ordinary response (ResponseSink) --------------------

  private parse(chunk: Buffer): void {
    if (!this.parser!.execute(chunk)) this.badAnswer(`bad response: ${this.parser!.error}`);
  }

  onResponseHead(status: number, reason: string, headers: string[]): boolean {
    this.disarm();
    this.status = status;
    const parser = this.parser!;
    let head = `HTTP/1.1 ${status} ${reason || STATUS_CODES[status] || ""}\r\n`;
    // The body is framed anew below, so the backend's Content-Length goes (beside chunked
    // coding it would let the client read the chunk framing as the body); it stays only on
    // answers without a body, where it describes what a GET would have got.
    const bodiless = status === 204 || status === 304 || this.request.method === "HEAD";
    for (let i = 0; i < headers.length; i += 2) {
      if (!bodiless && headers[i].toLowerCase() === "content-length") continue;
      head += `${headers[i]}: ${headers[i + 1]}\r\n`;
    }
    if (!parser.done) {
      this.responseChunked = true;
      head += "transfer-encoding: chunked\r\n";
    } else if (status !== 204 && status !== 304 && this.request.method !== "HEAD") {
      head += "content-length: 0\r\n";
    }
    if (this.ctx.stopping) head += "connection: close\r\n";
    this.client.write(`${head}\r\n`, "latin1");
    return true;
  }

  onResponseData(chunk: Buffer): void {
    if (chunk.length === 0) return;
    this.bytesOut += chunk.length;
    this.client.write(`${chunk.length.toString(16)}\r\n`, "latin1");
    this.client.write(chunk);
    this.client.write("\r\n", "latin1");
  }

  onResponseEnd(): void {
    if (this.responseChunked) this.client.write("0\r\n\r\n", "latin1");
    this.lease?.release({ ok: this.status < 500, bytesIn: this.bytesIn, bytesOut: this.bytesOut });
    // The backend's connection was opened for an upgrade: it is not reused.
    const upstream = this.upstream;
    this.upstream = undefined;
    upstream?.destroy();
    const client = this.client;
    this.detachClient();
    this.finish();
    if (this.ctx.stopping) client.end();
    else this.ctx.resumeHttp(client, this.request.early);
  }

  // ---- endings ---------------------------------------------------------------------------

  /** The backend's answer is not HTTP: 502 if nothing was passed on yet, else a cut. */
  private badAnswer(reason: string): void {
    this.lease?.release({ ok: false });
    const upstream = this.upstream;
    this.upstream = undefined;
    upstream?.destroy();
    this.ctx.logger.warn(
      { listener: this.ctx.name, id: this.request.requestId, reason },
      "upgrade: bad answer from the backend",
    );
    if (this.status === 0) this.refuse(502, reason);
    else this.client.destroy();
  }

  private refuse(status: number, reason: string): void {
    this.disarm();
    this.status = status;
    if (this.ctx.accessLog)
      this.ctx.logger.debug({ id: this.request.requestId, reason }, "upgrade refused");
    refuse(this.client, status, this.request.requestId);
  }

  private arm(ms: number, reason: string, status: number): void {
    this.disarm();
    this.timer = setTimeout(() => {
      this.timer = undefined;
      const upstream = this.upstream;
      this.upstream = undefined;
      this.lease?.release({ ok: false });
      upstream?.destroy();
      this.refuse(status, reason);
    }, ms);
  }

  private disarm(): void {
    if (this.timer !== undefined) clearTimeout(this.timer);
    this.timer = undefined;
  }

  private detachClient(): void {
    const client = this.client;
    client.off("error", this.onClientError);
    client.off("close", this.onClientClose);
    client.off("end", this.onClientEnd);
  }

  private finish(): void {
    if (this.ended) return;
    this.ended = true;
    this.disarm();
    const ctx = this.ctx;
    ctx.tunnels.delete(this.client);
    if (ctx.accessLog) {
      ctx.logger.info(
        {
          listener: ctx.name,
          id: this.request.requestId,
          method: this.request.method,
          url: this.request.path,
          upgrade: true,
          status: this.status,
          backend: this.lease?.backend.id,
          attempts: this.connectFailures + 1,
          ms: Math.round(performance.now() - this.startedAt),
          bytesIn: this.bytesIn,
          bytesOut: this.bytesOut,
        },
        this.tunnelOpen ? "tunnel closed" : "upgrade answered",
      );
    }
    ctx.onTunnelEnd();
  }
}

/**
 * Writes a short response on a raw socket and closes it: an error, or with `location` a
 * redirect (a redirect route answers an upgrade request the way it answers any other).
 */
export function refuse(socket: Duplex, status: number, requestId: string, location?: string): void {
  if (socket.destroyed) return;
  const body = `${status} ${STATUS_CODES[status]}\nrequest id: ${requestId}\n`;
  const redirect =
    location === undefined ? "" : `Location: ${location}\r\nCache-Control: no-store\r\n`;
  socket.end(
    `HTTP/1.1 ${status} ${STATUS_CODES[status]}\r\nContent-Type: text/plain\r\n${redirect}` +
      `Content-Length: ${body.length}\r\nX-Request-Id: ${requestId}\r\nConnection: close\r\n\r\n${body}`,
  );
}

function headText(request: UpgradeRequest): string {
  let text = `${request.method} ${request.path} HTTP/1.1\r\n`;
  const headers = request.headers;
  for (let i = 0; i < headers.length; i += 2) text += `${headers[i]}: ${headers[i + 1]}\r\n`;
  return `${text}\r\n`;
}
