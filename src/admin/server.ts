/** The admin server: JSON API, Prometheus metrics and the dashboard on their own listener. */
import { timingSafeEqual } from "node:crypto";
import { createServer, type IncomingMessage, type Server, type ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";
import { type AdminConfig, isLoopbackHost } from "../config/schema/index.js";
import type { Runtime } from "../runtime/runtime.js";
import { matchRoute } from "./api.js";
import { DASHBOARD_HTML } from "./dashboard.js";
import { HttpError, sendError, sendJson } from "./http-util.js";
import { createMetrics, type RuntimeMetrics } from "./metrics.js";
import { RateSampler } from "./rates.js";
import { refuseForeignRequests, requireNonSimpleBody } from "./request-guard.js";

/** How long stop() lets answers in flight finish before it cuts their connections. */
const STOP_GRACE_MS = 5_000;

/** Where the admin server listens and who may use it. */
export interface AdminOptions {
  /** Defaults to 127.0.0.1:9090, as the config's `admin:` section does. */
  bind?: { host: string; port: number };
  /**
   * When set, every request except the dashboard page needs `Authorization: Bearer <token>`.
   * Without it the API is read-only (GET and HEAD), and only on loopback unless
   * `insecurePublic` is set.
   */
  token?: string;
  /** Allows a token-less (read-only) admin API on a non-loopback address. */
  insecurePublic?: boolean;
  /** Host names clients may use besides IP literals and localhost. */
  allowedHosts?: readonly string[];
  /** How often requests/s are sampled from the counters (ms). */
  rateIntervalMs?: number;
}

/** A running admin server. */
export interface AdminServer {
  start(): Promise<void>;
  stop(): Promise<void>;
  /** The bound address (the real port when 0 was asked for). */
  address(): { host: string; port: number };
  /** `http://host:port` of the bound address, for clients. */
  url(): string;
}

/** Options from the config's `admin:` section. */
export function adminOptionsFromConfig(config: AdminConfig | undefined): AdminOptions {
  return {
    bind: config?.bind,
    token: config?.token,
    insecurePublic: config?.insecure_public,
    allowedHosts: config?.allowed_hosts,
  };
}

/** Creates the admin server for a runtime; call `start` to listen. */
export function createAdminServer(runtime: Runtime, options: AdminOptions = {}): AdminServer {
  const bind = options.bind ?? { host: "127.0.0.1", port: 9090 };
  const rates = new RateSampler(runtime, options.rateIntervalMs ?? 1000);
  const startedAt = Date.now();
  const token = options.token === undefined ? undefined : Buffer.from(options.token);
  const allowedHosts = new Set((options.allowedHosts ?? []).map((name) => name.toLowerCase()));
  let metrics: RuntimeMetrics | undefined;
  let server: Server | undefined;
  let stopping = false;

  const handle = async (req: IncomingMessage, res: ServerResponse): Promise<void> => {
    const url = new URL(req.url ?? "/", "http://admin");
    const method = req.method ?? "GET";
    refuseForeignRequests(req, url.pathname, allowedHosts);
    if (url.pathname === "/" && method === "GET") {
      // The page holds no data; it asks for the token and sends it with every API call.
      // No other site may frame it and have the user click its buttons.
      res.writeHead(200, {
        "content-type": "text/html; charset=utf-8",
        "cache-control": "no-store",
        "x-frame-options": "DENY",
        "content-security-policy": "frame-ancestors 'none'",
      });
      res.end(DASHBOARD_HTML);
      return;
    }
    if (token !== undefined && !authorized(req, token)) {
      res.setHeader("www-authenticate", 'Bearer realm="ballast admin"');
      throw new HttpError(401, "missing or wrong token; send Authorization: Bearer <token>");
    }
    if (method !== "GET" && method !== "HEAD") {
      // Nothing changes the balancer without authentication.
      if (token === undefined) {
        throw new HttpError(
          403,
          "the admin API is read-only: no admin.token is set; set one to change backends or reload through the API",
        );
      }
      // The token header already forces a CORS preflight; the body type does too.
      requireNonSimpleBody(req);
    }
    if (url.pathname === "/metrics" && method === "GET") {
      metrics ??= createMetrics(runtime);
      const text = await metrics.registry.metrics();
      res.writeHead(200, { "content-type": metrics.registry.contentType });
      res.end(text);
      return;
    }
    const { handler, params } = matchRoute(method, url.pathname);
    await handler({ runtime, rates, startedAt, req, res, params, query: url.searchParams });
  };

  const onRequest = (req: IncomingMessage, res: ServerResponse) => {
    // Once stopping, every answer ends its connection: a dashboard tab polls every second
    // over keep-alive, and a connection busy at close() would otherwise carry the next poll,
    // and the next, and hold the server open for as long as the tab stays open.
    if (stopping) res.shouldKeepAlive = false;
    handle(req, res).catch((error: unknown) => {
      if (res.headersSent) {
        res.destroy();
        return;
      }
      if (error instanceof HttpError) return sendError(res, error);
      runtime.logger.error({ err: error, url: req.url }, "admin request failed");
      sendJson(res, 500, { error: (error as Error).message ?? "internal error" });
    });
  };

  return {
    async start() {
      if (token === undefined && !options.insecurePublic && !isLoopbackHost(bind.host)) {
        throw new Error(
          `the admin API on ${bind.host}:${bind.port} has no token; set admin.token or bind it to loopback`,
        );
      }
      server = createServer(onRequest);
      // Instances renew their leases here, each on its own keep-alive connection. undici
      // (fetch) stops reusing a connection 2 s before the announced timeout, so a 2 s timeout
      // meant a new connection per call; 35 s keeps the connection of an instance that renews
      // every 30 s (Eureka's interval, a third of a 90 s lease). stop() still closes idle
      // sockets at once.
      server.keepAliveTimeout = 35_000;
      await new Promise<void>((resolve, reject) => {
        server!.once("error", reject);
        server!.listen(bind.port, bind.host, () => {
          server!.off("error", reject);
          resolve();
        });
      });
      rates.start();
      // Created now so health transitions are counted from the start, not the first scrape.
      metrics ??= createMetrics(runtime);
      runtime.logger.info({ ...this.address(), auth: token !== undefined }, "admin API listening");
      if (token === undefined) {
        runtime.logger.warn(
          "the admin API has no admin.token: it is read-only (GET); set admin.token to change backends or reload through it",
        );
      }
    },
    async stop() {
      rates.stop();
      metrics?.stop();
      metrics = undefined;
      const current = server;
      server = undefined;
      if (current === undefined) return;
      // Event streams and long-polls would hold the server open: end them first.
      runtime.registry?.watches.endAll();
      stopping = true;
      await new Promise<void>((resolve) => {
        // A request already in flight ends its connection when answered (see onRequest);
        // one that never ends (a client that stopped reading) is cut after a grace period.
        const cut = setTimeout(() => current.closeAllConnections(), STOP_GRACE_MS);
        current.close(() => {
          clearTimeout(cut);
          stopping = false;
          resolve();
        });
        current.closeIdleConnections();
      });
    },
    address() {
      const address = server?.address() as AddressInfo | null | undefined;
      if (!address) return { ...bind };
      return { host: address.address, port: address.port };
    },
    url() {
      const { host, port } = this.address();
      const shown = host === "0.0.0.0" ? "127.0.0.1" : host === "::" ? "::1" : host;
      return shown.includes(":") ? `http://[${shown}]:${port}` : `http://${shown}:${port}`;
    },
  };
}

/** Constant-time comparison of the bearer token. */
function authorized(req: IncomingMessage, token: Buffer): boolean {
  const header = req.headers.authorization;
  if (header === undefined || !header.startsWith("Bearer ")) return false;
  const given = Buffer.from(header.slice(7).trim());
  return given.length === token.length && timingSafeEqual(given, token);
}
