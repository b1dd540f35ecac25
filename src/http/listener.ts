/**
 * The http data plane's listener: ballast's own HTTP/1.1 server (src/http/server/: a strict
 * parser over the raw bytes, no IncomingMessage or ServerResponse per request), a compiled
 * router, and one ProxyExchange per request forwarding through our own upstream client's
 * keep-alive pools.
 */
import type { IncomingMessage, ServerResponse } from "node:http";
import type { Socket } from "node:net";
import type { Duplex } from "node:stream";
import type { HttpListenerConfig, ListenerConfig } from "../config/schema/index.js";
import type { Listener, ListenerContext, ListenerFactory } from "../net/listener.js";
import { RateLimitedLog } from "../net/rate-limited-log.js";
import type { Pool } from "../pool/pool.js";
import { type CacheZones, serveCached } from "./cache-glue.js";
import { HttpClientGuard } from "./client-guard.js";
import { type ProxyContext, type ProxyCounters, ProxyExchange } from "./exchange.js";
import {
  type ForwardingPolicy,
  isValidAuthority,
  type RequestHead,
  requestFields,
  scanRequestHead,
} from "./forward-headers.js";
import { hashKeyOf } from "./hash-key.js";
import { redirectLocation, redirectResponse } from "./redirect.js";
import { refusalOf } from "./request-checks.js";
import { nextRequestId } from "./request-id.js";
import { answerClientError, sendError, sendFixed } from "./responses.js";
import { RetryBudget } from "./retry-budget.js";
import { type CompiledRoute, compileRouter, normalizeHost, type Router } from "./router.js";
import { routingPath } from "./routing-path.js";
import { BallastHttpServer } from "./server/http-server.js";
import { compileAddressSet } from "./trusted-proxies.js";
import { proxyUpgrade, refuse as refuseUpgrade, type UpgradeContext } from "./upgrade.js";
import { type UpstreamOptions, Upstreams } from "./upstreams.js";

/** Default time a graceful stop waits for in-flight requests. */
const DEFAULT_STOP_TIMEOUT_MS = 30_000;

/** Creates a http listener from its config. */
export const createHttpListener: ListenerFactory = (config, context) => {
  if (config.protocol !== "http") throw new Error(`listener "${config.name}" is not http`);
  return new HttpListener(config, context);
};

/** A request target split into what routing and forwarding need. */
interface Target {
  /** Origin-form path and query, as sent upstream. */
  url: string;
  /** Path without the query, for routing. */
  path: string;
  /** The authority of an absolute-form target, which overrides Host (RFC 9112 3.2.2). */
  authority: string | undefined;
}

/** One http listener. */
export class HttpListener implements Listener {
  readonly name: string;
  readonly protocol = "http" as const;
  private config: HttpListenerConfig;
  private router: Router;
  private policy: ForwardingPolicy;
  private readonly server: BallastHttpServer;
  private readonly ctx: ProxyContext & UpgradeContext;
  private readonly pools: ListenerContext["pools"];
  /** cache: the zones that routes' `cache` options name (cache-glue.ts). */
  private readonly caches: CacheZones | undefined;
  /** The `limits` section: allow/deny, rate and connection limits. */
  private readonly guard: HttpClientGuard;
  /** Refused requests are logged at most once a second (a flood must not flood the log). */
  private readonly refusalLog: RateLimitedLog;
  private drained: (() => void) | undefined;
  private stopped: Promise<void> | undefined;

  constructor(config: HttpListenerConfig, context: ListenerContext) {
    this.name = config.name;
    this.config = config;
    this.pools = context.pools;
    this.caches = context.caches;
    this.router = compileRouter(config);
    this.policy = forwardingPolicy(config);
    this.guard = new HttpClientGuard(config.name, config.limits, context.logger);
    this.refusalLog = new RateLimitedLog(context.logger, 1000);
    const counters: ProxyCounters = {
      requests: 0,
      inFlight: 0,
      retries: 0,
      errors: 0,
      clientAborts: 0,
    };
    this.ctx = {
      name: config.name,
      logger: context.logger,
      upstreams: new Upstreams(upstreamOptions(config)),
      budget: new RetryBudget(config.retries.budget_percent, config.retries.min_retries_per_second),
      attempts: config.retries.attempts,
      retryStatuses: new Set(config.retries.on_status),
      retryNonIdempotent: config.retries.non_idempotent,
      accessLog: config.access_log,
      stopping: false,
      counters,
      connectTimeoutMs: config.timeouts.connect,
      tunnels: new Set<Duplex>(),
      onExchangeEnd: () => this.checkDrained(),
      onTunnelEnd: () => this.checkDrained(),
      responseTimeoutMs: config.timeouts.response,
      maxHeaderSize: config.max_header_size,
      resumeHttp: (client, early) => this.resumeHttp(client, early),
    };
    const t = config.timeouts;
    // TLS termination (nginx `listen ssl`, HAProxy `bind ... ssl crt`): same server, with
    // the certificate and key that loading the config read and checked.
    const tls =
      config.tls === undefined
        ? undefined
        : { cert: config.tls.loaded.cert, key: config.tls.loaded.key };
    // Large uploads stream for as long as they flow: no limit on the whole request.
    this.server = new BallastHttpServer({
      maxHeaderSize: config.max_header_size,
      headersTimeout: t.request_header,
      keepAliveTimeout: t.idle,
      tls,
    });
    const server = this.server;
    // Limits act at accept, on the raw socket (before any TLS handshake); a connection
    // handed back after a refused upgrade was counted when it was accepted.
    server.on("connection", (socket: Socket) => {
      if (!isResumed(socket)) this.guard.onConnection(socket);
    });
    // A client's FIN ends its requests (nginx's 499 "client closed connection"): the
    // upstream request is aborted and the backend's count released.
    server.on("request", (req: IncomingMessage, res: ServerResponse) =>
      this.handle(req, res, false),
    );
    server.on("checkContinue", (req: IncomingMessage, res: ServerResponse) =>
      this.handle(req, res, true),
    );
    server.on("upgrade", (req: IncomingMessage, socket: Duplex, head: Buffer) =>
      this.handleUpgrade(req, socket, head),
    );
    // A reverse proxy is no forward proxy: CONNECT gets 405 and the connection closes.
    server.on("connect", (_req: IncomingMessage, socket: Duplex) =>
      refuseUpgrade(socket, 405, nextRequestId()),
    );
    server.on("clientError", (error: Error, socket: Duplex) =>
      answerClientError(error, socket, this.ctx.logger, this.name),
    );
    // Keep-alive connections idle for `timeouts.idle`: the server closes them and says so.
    server.on("idle", () => this.ctx.logger.debug({ listener: this.name }, "client idle timeout"));
  }

  /** Binds and starts accepting. */
  start(): Promise<void> {
    const { host, port } = this.config.bind;
    return new Promise((resolve, reject) => {
      const onError = (error: Error) => {
        reject(
          new Error(`listener "${this.name}": cannot listen on ${host}:${port}: ${error.message}`),
        );
      };
      this.server.once("error", onError);
      this.server.listen({ host, port }, () => {
        this.server.off("error", onError);
        // Without a listener an accept error (EMFILE) would be thrown and end the process.
        this.server.on("error", (error) =>
          this.ctx.logger.error({ listener: this.name, err: error }, "http listener error"),
        );
        resolve();
      });
    });
  }

  /** Applies routes, forwarding, retries and timeouts of a changed config in place. */
  update(config: ListenerConfig): void {
    if (config.protocol !== "http") return;
    this.renewCertificate(config);
    this.config = config;
    this.router = compileRouter(config);
    this.policy = forwardingPolicy(config);
    this.guard.configure(config.limits);
    const ctx = this.ctx;
    ctx.attempts = config.retries.attempts;
    ctx.retryStatuses = new Set(config.retries.on_status);
    ctx.retryNonIdempotent = config.retries.non_idempotent;
    ctx.accessLog = config.access_log;
    ctx.connectTimeoutMs = config.timeouts.connect;
    ctx.responseTimeoutMs = config.timeouts.response;
    ctx.maxHeaderSize = config.max_header_size;
    ctx.budget.configure(config.retries.budget_percent, config.retries.min_retries_per_second);
    ctx.upstreams.configure(upstreamOptions(config));
    this.server.headersTimeout = config.timeouts.request_header;
    this.server.keepAliveTimeout = config.timeouts.idle;
    // The server reads maxHeaderSize when a connection opens: new connections get the new limit.
    this.server.maxHeaderSize = config.max_header_size;
  }

  /**
   * A renewed certificate or key (nginx on SIGHUP): new handshakes get it, open connections
   * keep the one they shook hands with. Adding or removing `tls` replaces the listener.
   */
  private renewCertificate(config: HttpListenerConfig): void {
    const next = config.tls?.loaded;
    const current = this.config.tls?.loaded;
    if (next === undefined || current === undefined || next.digest === current.digest) return;
    this.server.setSecureContext({ cert: next.cert, key: next.key });
    this.ctx.logger.info(
      { listener: this.name, fingerprint256: next.fingerprint256, validTo: next.validTo },
      "certificate reloaded",
    );
  }

  /**
   * Stops accepting; graceful: in-flight requests and tunnels finish (their responses close
   * the connection), idle keep-alive connections close, and after `timeoutMs` whatever
   * remains is cut.
   */
  stop(options: { graceful?: boolean; timeoutMs?: number } = {}): Promise<void> {
    this.stopped ??= this.shutdown(
      options.graceful ?? true,
      options.timeoutMs ?? DEFAULT_STOP_TIMEOUT_MS,
    );
    return this.stopped;
  }

  /** The bound address. */
  address(): { host: string; port: number } {
    const address = this.server.address();
    if (address === null || typeof address === "string") {
      return { host: this.config.bind.host, port: this.config.bind.port };
    }
    return { host: address.address, port: address.port };
  }

  /** Counters for the admin API and metrics. */
  stats(): Record<string, number> {
    const c = this.ctx.counters;
    return {
      requests: c.requests,
      inFlight: c.inFlight,
      retries: c.retries,
      errors: c.errors,
      clientAborts: c.clientAborts,
      tunnels: this.ctx.tunnels.size,
      ...this.guard.counters,
    };
  }

  private async shutdown(graceful: boolean, timeoutMs: number): Promise<void> {
    const ctx = this.ctx;
    ctx.stopping = true;
    const server = this.server;
    const closed = new Promise<void>((resolve) => {
      if (!server.listening) resolve();
      else server.close(() => resolve());
    });
    if (graceful) {
      server.closeIdleConnections();
      await this.waitDrained(timeoutMs);
    }
    server.closeAllConnections();
    for (const tunnel of ctx.tunnels) tunnel.destroy();
    await ctx.upstreams.close(graceful);
    await closed;
    ctx.logger.info({ listener: this.name, graceful }, "listener stopped");
  }

  /**
   * Gives a client connection back to the HTTP server after an upgrade the backend
   * refused, so its next bytes (`early` first) are parsed as HTTP requests again.
   */
  private resumeHttp(client: Duplex, early: Buffer): void {
    if (this.ctx.stopping || client.destroyed) {
      client.destroy();
      return;
    }
    markResumed(client);
    this.server.adopt(client as Socket, early);
  }

  private waitDrained(timeoutMs: number): Promise<void> {
    if (this.isDrained()) return Promise.resolve();
    return new Promise((resolve) => {
      const timer = setTimeout(() => {
        this.drained = undefined;
        this.ctx.logger.warn(
          { listener: this.name, inFlight: this.ctx.counters.inFlight },
          "graceful stop timed out; closing what remains",
        );
        resolve();
      }, timeoutMs);
      this.drained = () => {
        clearTimeout(timer);
        this.drained = undefined;
        resolve();
      };
    });
  }

  private isDrained(): boolean {
    return this.ctx.counters.inFlight === 0 && this.ctx.tunnels.size === 0;
  }

  private checkDrained(): void {
    if (this.drained !== undefined && this.isDrained()) this.drained();
  }

  /**
   * Everything a request and an upgrade request decide alike: the checks of the request
   * line, head and path, the route, the pool and the hashing key. A refusal carries a
   * `reason` when the request was malformed (its connection then closes).
   */
  private resolve(req: IncomingMessage, upgrade: boolean): Decision | Refused {
    const target = targetOf(req.url);
    const head = scanRequestHead(req, this.policy, nextRequestId(), upgrade, target?.authority);
    const refusal = refusalOf(req, head);
    if (refusal !== undefined) return refused(refusal.status, head, refusal.reason);
    const path = target === undefined ? undefined : routingPath(target.path);
    if (target === undefined) return refused(400, head, "bad request target");
    if (head.duplicateHost || path === undefined) return refused(400, head, "bad Host or path");
    const route = this.router.route(normalizeHost(head.host), path, req.method ?? "GET", req);
    if (typeof route === "number") return refused(route, head, undefined);
    if (route.pool === undefined) {
      return { refused: false, head, target, route, pool: undefined, key: undefined };
    }
    const pool = this.pools.get(route.pool);
    if (pool === undefined) return refused(503, head, undefined);
    return { refused: false, head, target, route, pool, key: this.keyOf(req, pool) };
  }

  private handle(req: IncomingMessage, res: ServerResponse, expectContinue: boolean): void {
    // A request pipelined behind one that was refused with Connection: close is never read.
    if (isClosing(req.socket)) return;
    const ctx = this.ctx;
    ctx.counters.requests++;
    ctx.budget.recordRequest(performance.now());
    if (ctx.stopping) res.shouldKeepAlive = false;
    const guarded = this.guard.checkRequest(req, res);
    if (guarded !== 0) {
      this.answer(req, res, guarded, undefined);
      return;
    }
    const decision = this.resolve(req, false);
    if (decision.refused) {
      this.answer(req, res, decision.status, decision.head, decision.reason);
      return;
    }
    const { head, target, route, pool, key } = decision;
    if (pool === undefined) {
      sendFixed(res, route.respond!.status, route.respond!.body);
      return;
    }
    if (route.redirect !== undefined) {
      const backend = pool.pick(key);
      if (backend === undefined) this.answer(req, res, 503, head);
      else redirectResponse(res, backend, req, route.redirect.status);
      return;
    }
    // cache: a hit, a stale answer or a coalesced miss needs no exchange (cache-glue.ts).
    if (route.cache !== undefined && this.caches !== undefined) {
      serveCached(this.caches, route.cache, req, res, head, target.url, (to, toHead, tee) => {
        const exchange = new ProxyExchange(
          ctx,
          req,
          to,
          toHead,
          target.url,
          pool,
          key,
          expectContinue && to === res,
        );
        exchange.cache = tee;
        exchange.start();
      });
      return;
    }
    new ProxyExchange(ctx, req, res, head, target.url, pool, key, expectContinue).start();
  }

  private handleUpgrade(req: IncomingMessage, socket: Duplex, early: Buffer): void {
    if (isClosing(req.socket)) {
      socket.destroy();
      return;
    }
    const ctx = this.ctx;
    ctx.counters.requests++;
    if (!this.guard.admitUpgrade(req, socket, nextRequestId())) return;
    const refuse = (status: number, head: RequestHead | undefined, reason?: string) => {
      if (status >= 500) ctx.counters.errors++;
      if (reason !== undefined) this.logRefusal(req, status, reason);
      refuseUpgrade(socket, status, head?.requestId ?? "-");
    };
    const decision = this.resolve(req, true);
    if (decision.refused) {
      refuse(decision.status, decision.head, decision.reason);
      return;
    }
    const { head, target, route, pool, key } = decision;
    const status = this.upgradeRefusal(req, head, route);
    if (status !== 0 || pool === undefined) {
      refuse(status, head, status === 400 ? "upgrade request with a body" : undefined);
      return;
    }
    if (route.redirect !== undefined) {
      const backend = pool.pick(key);
      if (backend === undefined) refuse(503, head);
      else {
        const location = redirectLocation(backend, target.url);
        refuseUpgrade(socket, route.redirect.status, head.requestId, location);
      }
      return;
    }
    proxyUpgrade(
      ctx,
      socket,
      {
        method: req.method ?? "GET",
        path: target.url,
        headers: requestFields(head),
        requestId: head.requestId,
        early,
      },
      pool,
      key,
    );
  }

  /** 0, or the status an upgrade request gets without reaching a backend. */
  private upgradeRefusal(req: IncomingMessage, head: RequestHead, route: CompiledRoute): number {
    if (this.ctx.stopping) return 503;
    // An upgrade request's body would be read as bytes of the upgraded protocol.
    if (head.hasBody) return 400;
    if (!this.config.websocket && req.headers.upgrade?.toLowerCase() === "websocket") return 403;
    return route.respond?.status ?? 0;
  }

  /** The hashing key, computed only for algorithms that use one. */
  private keyOf(req: IncomingMessage, pool: Pool): string | undefined {
    return pool.usesKey ? hashKeyOf(req, pool.hashKey) : undefined;
  }

  /**
   * The proxy's own answer (400, 403, 404, 421, 429, 431, 501, 503, 505) with its access log
   * line. A malformed request (4xx/5xx with a `reason`) also closes the connection, and
   * nothing the client pipelined behind it is read.
   */
  private answer(
    req: IncomingMessage,
    res: ServerResponse,
    status: number,
    head: RequestHead | undefined,
    reason?: string,
  ): void {
    if (status >= 500) this.ctx.counters.errors++;
    const requestId = head?.requestId ?? nextRequestId();
    if (reason !== undefined) {
      res.shouldKeepAlive = false;
      markClosing(req.socket);
      this.logRefusal(req, status, reason);
    }
    sendError(res, status, requestId);
    if (this.ctx.accessLog) {
      this.ctx.logger.info(
        {
          listener: this.name,
          id: requestId,
          client: req.socket.remoteAddress,
          method: req.method,
          host: head?.host,
          url: req.url,
          status,
        },
        "request",
      );
    }
  }

  private logRefusal(req: IncomingMessage, status: number, reason: string): void {
    this.refusalLog.warn(
      { listener: this.name, client: req.socket.remoteAddress, status, reason },
      "request refused",
    );
  }
}

/** What `resolve` decided for a request that is to be served. */
interface Decision {
  refused: false;
  head: RequestHead;
  target: Target;
  route: CompiledRoute;
  /** The route's pool and the request's hashing key; undefined for a `respond` route. */
  pool: Pool | undefined;
  key: string | undefined;
}

/** What `resolve` decided for a request that is answered by the proxy itself. */
interface Refused {
  refused: true;
  status: number;
  head: RequestHead;
  /** Set when the request was malformed: the connection closes after the answer. */
  reason: string | undefined;
}

function refused(status: number, head: RequestHead, reason: string | undefined): Refused {
  return { refused: true, status, head, reason };
}

const kClosing = Symbol("closing");

/** Marks a client connection that is closing after a refusal: nothing more is read from it. */
function markClosing(socket: Duplex): void {
  (socket as Duplex & { [kClosing]?: boolean })[kClosing] = true;
}

function isClosing(socket: Duplex): boolean {
  return (socket as Duplex & { [kClosing]?: boolean })[kClosing] === true;
}

const kResumed = Symbol("resumed");

function markResumed(socket: Duplex): void {
  (socket as Duplex & { [kResumed]?: boolean })[kResumed] = true;
}

function isResumed(socket: Duplex): boolean {
  return (socket as Duplex & { [kResumed]?: boolean })[kResumed] === true;
}

const HTTP_SCHEME = /^https?$/i;

/** Splits the request target; undefined for a form that cannot be proxied ("*", junk). */
function targetOf(url: string | undefined): Target | undefined {
  if (url === undefined || url.length === 0) return undefined;
  if (url.charCodeAt(0) === 47 /* / */) {
    const query = url.indexOf("?");
    return { url, path: query < 0 ? url : url.slice(0, query), authority: undefined };
  }
  // Absolute-form ("http://host/path"), which a client may send to any server; only the
  // schemes this proxy serves, and an authority as strict as Host (no user info).
  const scheme = url.indexOf("://");
  if (scheme < 0 || !HTTP_SCHEME.test(url.slice(0, scheme))) return undefined;
  const slash = url.indexOf("/", scheme + 3);
  const query = url.indexOf("?", scheme + 3);
  const authorityEnd = slash < 0 ? (query < 0 ? url.length : query) : slash;
  const authority = url.slice(scheme + 3, authorityEnd);
  if (authority.length === 0 || !isValidAuthority(authority)) return undefined;
  const rest = url.slice(authorityEnd);
  const origin = rest.length === 0 || rest.charCodeAt(0) === 63 /* ? */ ? `/${rest}` : rest;
  const q = origin.indexOf("?");
  return { url: origin, path: q < 0 ? origin : origin.slice(0, q), authority };
}

function forwardingPolicy(config: HttpListenerConfig): ForwardingPolicy {
  return {
    enabled: config.forwarded.enabled,
    trusted: compileAddressSet(config.forwarded.trusted_proxies),
    proto: config.tls === undefined ? "http" : "https",
    rfc7239: config.forwarded.rfc7239,
    rfc7239By: config.forwarded.rfc7239_by,
    underscores: config.underscores_in_headers,
    maxFields: config.max_header_count,
  };
}

function upstreamOptions(config: HttpListenerConfig): UpstreamOptions {
  const t = config.timeouts;
  return {
    connectTimeoutMs: t.connect,
    responseTimeoutMs: t.response,
    bodyTimeoutMs: t.idle,
    idleTimeoutMs: t.upstream_idle,
    keepalive: config.upstream_keepalive,
    maxHeaderSize: config.max_header_size,
  };
}
