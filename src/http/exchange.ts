/**
 * One proxied request: pick, lease, dispatch to the backend's keep-alive pool, stream the
 * response back, retry on another backend when that is safe, and report the outcome once.
 *
 * The exchange is itself the upstream handler (onUpstreamConnect/Head/Data/End/Error), so a
 * request costs one object and no Promise; backpressure runs both ways (the upstream
 * connection pauses the client's body stream; `res.write() === false` pauses the upstream
 * socket until `drain`).
 */
import type { IncomingMessage, ServerResponse } from "node:http";
import type { Logger } from "../log.js";
import type { BackendState } from "../pool/backend.js";
import type { Lease } from "../pool/lease.js";
import type { Pool } from "../pool/pool.js";
import type { Selection } from "../pool/selection.js";
import type { CacheTee } from "./cache-glue.js";
import { type RequestHead, requestFields } from "./forward-headers.js";
import { sendError } from "./responses.js";
import type { RetryBudget } from "./retry-budget.js";
import { ClientResponse } from "./server/client-response.js";
import { stickyBackendOf, stickyCookie, withoutCookie } from "./sticky.js";
import {
  CONNECT_TIMEOUT,
  RESPONSE_TIMEOUT,
  type UpstreamConnection,
  type UpstreamHandler,
} from "./upstream/client.js";
import type { ResponseFields } from "./upstream/response-parser.js";
import type { Upstreams } from "./upstreams.js";

/** What every exchange of one listener shares. */
export interface ProxyContext {
  readonly name: string;
  logger: Logger;
  upstreams: Upstreams;
  budget: RetryBudget;
  /** Further tries after the first. */
  attempts: number;
  retryStatuses: ReadonlySet<number>;
  retryNonIdempotent: boolean;
  accessLog: boolean;
  /** Set once a graceful stop began: responses then close their connection. */
  stopping: boolean;
  readonly counters: ProxyCounters;
  /** Called once when an exchange ends, so a graceful stop knows when all are done. */
  onExchangeEnd(): void;
}

/** Counters of a listener, read by `stats()`. */
export interface ProxyCounters {
  requests: number;
  inFlight: number;
  retries: number;
  errors: number;
  clientAborts: number;
}

/** RFC 9110 9.2.2: methods whose repetition has the same effect as one request. */
const IDEMPOTENT = new Set(["GET", "HEAD", "OPTIONS", "TRACE", "PUT", "DELETE"]);

/** Aborts an upstream request whose response status is retried. */
const RETRY_STATUS = new Error("retrying on another backend");
/** Aborts an upstream request when the client went away. */
const CLIENT_GONE = new Error("client closed the connection");

/** Error codes that mean "the backend did not answer in time". */
function isTimeout(code: string | undefined): boolean {
  return code === CONNECT_TIMEOUT || code === RESPONSE_TIMEOUT;
}

const kExchange = Symbol("exchange");

type WithExchange = ServerResponse & { [kExchange]?: ProxyExchange };

function onResponseClose(this: ServerResponse): void {
  (this as WithExchange)[kExchange]?.clientClosed();
}

/** `drain` of the client response: reading the backend goes on (no closure per request). */
function onResponseDrain(this: ServerResponse): void {
  (this as WithExchange)[kExchange]?.resumeUpstream();
}

/** One request in flight through the proxy. */
export class ProxyExchange implements UpstreamHandler {
  private lease: Lease | undefined;
  /** The backends of this request: a retry never repeats one while another can serve. */
  private selection: Selection | undefined;
  private attempt = 0;
  /** Attempts whose connect failed: retried freely, each on another backend. */
  private connectFailures = 0;
  private readonly startedAt = performance.now();
  private sentAt = 0;
  /** The upstream connection of the current attempt, once it has one. */
  private upstream: UpstreamConnection | undefined;
  /** The backend the sticky cookie names, when it can serve. */
  private stickyBackend: BackendState | undefined;
  private setCookie: string | undefined;
  private finished = false;
  private clientGone = false;
  private responseOk = true;
  private status = 0;
  /** Request body bytes sent to the backend ("in": from the client, as L4 counts them). */
  private bytesIn = 0;
  /** Response body bytes sent back to the client. */
  private bytesOut = 0;
  private failure: string | undefined;
  /** The status whose response was dropped for a retry; answered if no retry can be sent. */
  private retryStatus = 502;
  /** cache: the route's cache sees the response pass (cache-glue.ts); undefined without. */
  cache: CacheTee | undefined = undefined;

  constructor(
    private readonly ctx: ProxyContext,
    private readonly req: IncomingMessage,
    private readonly res: ServerResponse,
    private readonly head: RequestHead,
    private readonly path: string,
    private readonly pool: Pool,
    private readonly key: string | undefined,
    /** Answer `Expect: 100-continue` once a backend is chosen. */
    private expectContinue: boolean,
  ) {
    ctx.counters.inFlight++;
    (res as ServerResponse & { [kExchange]?: ProxyExchange })[kExchange] = this;
    // ballast's server tells the exchange directly; a cache fill's stand-in emits `close`.
    const own: unknown = res;
    if (own instanceof ClientResponse) own.closeWatcher = this;
    else res.once("close", onResponseClose);
  }

  /** Picks a backend and sends the request; answers 503 (or the sorry server) when none. */
  start(): void {
    const sticky = this.pool.sticky;
    if (sticky !== undefined) {
      const cookieIndex = this.head.cookieIndex;
      if (cookieIndex >= 0) this.stripStickyCookie(cookieIndex, sticky.cookie);
      this.stickyBackend = stickyBackendOf(this.req, this.pool, sticky);
    }
    this.selection = this.pool.select({ key: this.key, pinned: this.stickyBackend });
    const next = this.selection.next();
    if (next.kind === "none") {
      const sorry = this.pool.sorryServer;
      if (sorry !== undefined) this.dispatchTo(sorry);
      else this.fail(503, `no backend available (${next.reason})`);
      return;
    }
    this.send(next.lease);
  }

  /** Sends the request to the backend of `lease`. */
  private send(lease: Lease): void {
    this.lease = lease;
    const sticky = this.pool.sticky;
    if (sticky !== undefined && lease.backend !== this.stickyBackend) {
      this.setCookie = stickyCookie(lease.backend, sticky);
    }
    this.dispatchTo(lease.backend);
  }

  private dispatchTo(target: { readonly host: string; readonly port: number }): void {
    if (this.expectContinue) {
      // The proxy reads the body only now that it knows where to send it (nginx's way).
      this.expectContinue = false;
      this.res.writeContinue();
    }
    this.upstream = undefined;
    this.sentAt = 0;
    const req = this.req;
    this.ctx.upstreams.get(target).dispatch(
      {
        method: req.method ?? "GET",
        path: this.path,
        fields: this.head.fields,
        headers: this.head.headers,
        body: this.head.hasBody ? req : null,
        chunked: this.head.chunked,
      },
      this,
    );
  }

  // ---- upstream handler ----------------------------------------------------------------

  onUpstreamConnect(connection: UpstreamConnection): void {
    if (this.clientGone) {
      connection.abort(this, CLIENT_GONE);
      return;
    }
    this.upstream = connection;
    this.sentAt = performance.now();
    this.lease?.established();
  }

  onUpstreamBodySent(bytes: number): void {
    this.bytesIn += bytes;
  }

  onUpstreamHead(
    statusCode: number,
    statusText: string,
    headers: string[],
    fields: ResponseFields | undefined,
  ): boolean {
    const retryable = this.ctx.retryStatuses.has(statusCode);
    if (retryable) {
      this.responseOk = false;
      if (this.canRetry(true)) {
        this.failure = `status ${statusCode}`;
        this.retryStatus = statusCode;
        this.upstream?.abort(this, RETRY_STATUS);
        return false;
      }
    }
    this.status = statusCode;
    const res = this.res;
    // cache: a 304 that refreshed the stored response, or a stale one for a 5xx, was sent.
    if (this.cache?.onHead(res, statusCode, statusText, headers)) return true;
    if (this.setCookie !== undefined) {
      // HAProxy's `nocache`: a shared cache must not hand one client's cookie to another.
      headers.push("set-cookie", this.setCookie, "cache-control", "private");
    }
    if (this.ctx.stopping) res.shouldKeepAlive = false;
    const own: unknown = res;
    if (
      fields !== undefined &&
      this.cache === undefined &&
      this.setCookie === undefined &&
      own instanceof ClientResponse
    ) {
      // The backend's lines go on as they came (ballast's own server, nothing added or
      // taken out by a cache or a sticky cookie).
      own.writeHeadLines(statusCode, statusText, fields);
    } else if (statusText) res.writeHead(statusCode, statusText, headers);
    // An empty reason phrase from the backend gets node's standard one.
    else res.writeHead(statusCode, headers);
    return true;
  }

  onUpstreamData(chunk: Buffer, last: boolean): boolean {
    this.bytesOut += chunk.length;
    // cache: the chunk is stored; it is not the client's when the cache answered instead.
    if (this.cache !== undefined && !this.cache.onData(chunk)) return true;
    if (last) {
      // The whole body is here: one end() instead of write() then end().
      this.res.end(chunk);
      return true;
    }
    if (this.res.write(chunk)) return true;
    this.res.once("drain", onResponseDrain);
    return false;
  }

  /** The client took what was written: read on from the backend. */
  resumeUpstream(): void {
    this.upstream?.resume(this);
  }

  onUpstreamEnd(): void {
    this.upstream = undefined;
    this.cache?.onEnd(); // cache: the stored body is complete
    if (!this.res.writableEnded) this.res.end();
    this.release(this.responseOk);
    this.end();
  }

  onUpstreamError(error: Error & { code?: string }): void {
    // The attempt is over: a client leaving before the retry must not call a stale abort.
    this.upstream = undefined;
    if (this.clientGone || error === CLIENT_GONE) {
      this.release(true);
      this.end();
      return;
    }
    const sent = this.lease?.state === "active";
    if (error === RETRY_STATUS) {
      this.release(false);
      process.nextTick(() => this.retry(this.retryStatus));
      return;
    }
    this.release(false);
    const timeout = isTimeout(error.code);
    const status = timeout ? 504 : 502;
    this.failure = error.code ?? error.message;
    if (!this.res.headersSent && this.canRetry(sent)) {
      process.nextTick(() => this.retry(status));
      return;
    }
    this.ctx.logger.warn(
      {
        listener: this.ctx.name,
        id: this.head.requestId,
        backend: this.lease?.backend.id,
        code: error.code,
        status,
      },
      error.code === RESPONSE_TIMEOUT
        ? "upstream response timeout"
        : error.code === CONNECT_TIMEOUT
          ? "upstream connect timeout"
          : "upstream error: %s",
      error.message,
    );
    this.fail(status, this.failure);
  }

  // ---- retries, client abort, the end ---------------------------------------------------

  /**
   * True when one more attempt is allowed: attempts left, the budget agrees, and the request
   * can be sent again unchanged. A request that never reached a backend (`sent` false, so
   * its body was not read) may always be retried; one that did only when its method is
   * idempotent (or `non_idempotent` is on) and it had no body to replay.
   */
  private canRetry(sent: boolean): boolean {
    if (this.res.headersSent) return false;
    if (!sent && !this.req.readableDidRead) {
      // The connect failed, so the request never left: like nginx's proxy_next_upstream
      // `error`, it goes to the next backend, each tried once, without spending the
      // budget or the attempts meant for answers that failed.
      return ++this.connectFailures < this.pool.size;
    }
    if (this.attempt - this.connectFailures >= this.ctx.attempts) return false;
    if (this.head.hasBody && (sent || this.req.readableDidRead)) return false;
    if (sent && !this.ctx.retryNonIdempotent && !IDEMPOTENT.has(this.req.method ?? "")) {
      return false;
    }
    return this.ctx.budget.tryRetry(performance.now());
  }

  /**
   * Sends the request again, to a backend not tried yet. When every backend was tried, the
   * last one is tried once more unless it timed out (that would only double the wait, as
   * nginx's proxy_next_upstream never retries the same server); other failures (a reset
   * keep-alive socket, a 503 during a restart) say little against it.
   */
  private retry(failedStatus: number): void {
    if (this.clientGone || this.finished) return;
    const selection = this.selection!;
    const previous = this.lease?.backend;
    this.lease = undefined;
    let next = selection.next();
    if (next.kind === "none" && next.reason === "tried" && failedStatus !== 504) {
      next = selection.again();
    }
    if (next.kind === "none") {
      this.ctx.logger.warn(
        {
          listener: this.ctx.name,
          id: this.head.requestId,
          backend: previous?.id,
          status: failedStatus,
          reason: next.reason,
        },
        "upstream failed (%s) and no other backend to retry",
        this.failure,
      );
      this.fail(failedStatus, this.failure ?? "retry impossible");
      return;
    }
    this.attempt++;
    this.ctx.counters.retries++;
    this.responseOk = true;
    this.send(next.lease);
  }

  /** The client closed its connection (or the response ended: then nothing to do). */
  clientClosed(): void {
    if (this.finished) return;
    this.clientGone = true;
    this.ctx.counters.clientAborts++;
    // The connection reports the abort through onUpstreamError at once; if the request was
    // queued, or between two attempts, there is nothing to abort and a late
    // onUpstreamConnect aborts itself.
    this.upstream?.abort(this, CLIENT_GONE);
    this.release(true);
    this.end();
  }

  private fail(status: number, reason: string): void {
    this.status = status;
    this.failure = reason;
    this.ctx.counters.errors++;
    // cache: stale-if-error, a stale response stands in for the failed backend.
    if (!this.cache?.onFail(this.res, status)) sendError(this.res, status, this.head.requestId);
    this.end();
  }

  private release(ok: boolean): void {
    const lease = this.lease;
    if (lease === undefined || lease.closed) return;
    lease.release({
      ok,
      latencyMs: this.sentAt === 0 ? undefined : performance.now() - this.sentAt,
      bytesIn: this.bytesIn,
      bytesOut: this.bytesOut,
    });
  }

  private end(): void {
    if (this.finished) return;
    this.finished = true;
    this.cache?.close(); // cache: an unfinished fill is abandoned
    const ctx = this.ctx;
    ctx.counters.inFlight--;
    if (ctx.accessLog) this.log();
    ctx.onExchangeEnd();
  }

  private log(): void {
    const req = this.req;
    this.ctx.logger.info(
      {
        listener: this.ctx.name,
        id: this.head.requestId,
        client: req.socket.remoteAddress,
        method: req.method,
        host: this.head.host,
        url: req.url,
        status: this.clientGone ? 499 : this.status,
        pool: this.pool.name,
        backend: this.lease?.backend.id ?? this.selection?.last?.id,
        attempts: this.attempt + 1,
        ms: Math.round((performance.now() - this.startedAt) * 100) / 100,
        bytesIn: this.bytesIn,
        bytesOut: this.bytesOut,
        failure: this.failure,
      },
      "request",
    );
  }

  private stripStickyCookie(index: number, name: string): void {
    const headers = requestFields(this.head);
    const kept = withoutCookie(headers[index], name);
    if (kept !== undefined) headers[index] = kept;
    else headers.splice(index - 1, 2);
  }
}
