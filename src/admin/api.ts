/** The admin API's routes: listeners, pools, backends, admin actions, reload, config. */
import type { IncomingMessage, ServerResponse } from "node:http";
import { z } from "zod";
import { backendSchema, duration, hostPort } from "../config/schema/index.js";
import { HeartbeatError } from "../health/heartbeat.js";
import { formatHostPort } from "../pool/backend.js";
import type { Pool } from "../pool/pool.js";
import { RegistryError } from "../registry/storage.js";
import { backendSpecFromConfig } from "../runtime/pools.js";
import { reloadFromFile, reloadFromText } from "../runtime/reload.js";
import type { Runtime } from "../runtime/runtime.js";
import { cacheViews, purgeCaches } from "./caches.js";
import { allTables, listenerTable, parseLimit, requireListener } from "./connections.js";
import { defineHaRoutes } from "./ha-api.js";
import { HttpError, readJsonObject, readText, sendJson } from "./http-util.js";
import type { RateSampler } from "./rates.js";
import { defineRegistryRoutes, registryErrorStatus } from "./registry-api.js";
import {
  checkThresholds,
  listenerViews,
  type PoolView,
  poolView,
  poolViews,
  statusView,
} from "./state.js";
import { sendStats } from "./stats.js";

/** What every route handler gets. */
export interface ApiContext {
  runtime: Runtime;
  rates: RateSampler;
  startedAt: number;
  req: IncomingMessage;
  res: ServerResponse;
  /** The decoded path segments matched by the route's parameters. */
  params: string[];
  query: URLSearchParams;
}

type Handler = (ctx: ApiContext) => Promise<void> | void;

interface Route {
  method: string;
  /** Segments; ":" marks a parameter. */
  pattern: string[];
  handler: Handler;
}

const routes: Route[] = [];

function route(method: string, path: string, handler: Handler): void {
  routes.push({ method, pattern: path.split("/").filter(Boolean), handler });
}

/** Finds the route for a request: the handler, or a 404/405 error. */
export function matchRoute(
  method: string,
  pathname: string,
): { handler: Handler; params: string[] } {
  const segments = pathname.split("/").filter(Boolean);
  let pathMatched = false;
  for (const candidate of routes) {
    const params = matchSegments(candidate.pattern, segments);
    if (params === undefined) continue;
    pathMatched = true;
    if (candidate.method === method) return { handler: candidate.handler, params };
  }
  if (pathMatched) throw new HttpError(405, `method ${method} is not allowed on ${pathname}`);
  throw new HttpError(404, `no such endpoint: ${pathname}`, { see: "GET /api" });
}

function matchSegments(pattern: string[], segments: string[]): string[] | undefined {
  if (pattern.length !== segments.length) return undefined;
  const params: string[] = [];
  for (let i = 0; i < pattern.length; i++) {
    if (pattern[i].startsWith(":")) {
      try {
        params.push(decodeURIComponent(segments[i]));
      } catch {
        throw new HttpError(400, `bad percent-encoding in path segment "${segments[i]}"`);
      }
    } else if (pattern[i] !== segments[i]) return undefined;
  }
  return params;
}

function requirePool(runtime: Runtime, name: string): Pool {
  const pool = runtime.pools.get(name);
  if (pool === undefined) {
    throw new HttpError(404, `no pool "${name}"`, { pools: [...runtime.pools.keys()] });
  }
  return pool;
}

/** One pool's view with its checks' state. */
function viewOf(runtime: Runtime, rates: RateSampler, name: string, pool: Pool): PoolView {
  return poolView(name, pool, rates, runtime.healthChecks(name), checkThresholds(runtime, name));
}

function requireBackend(pool: Pool, id: string): void {
  if (pool.get(id) === undefined) {
    throw new HttpError(404, `no backend "${id}" in pool "${pool.name}"`, {
      backends: pool.backends.map((b) => b.id),
    });
  }
}

/** Zod issues as "path: message" lines. */
export function describeZodIssues(error: z.ZodError): string[] {
  return error.issues.map((issue) => {
    const path = issue.path.map(String).join(".");
    return path === "" ? issue.message : `${path}: ${issue.message}`;
  });
}

const weightBody = z.strictObject({ weight: z.number().int().min(0).max(65535) });

route("GET", "/api", ({ res }) =>
  sendJson(res, 200, {
    endpoints: routes.map((r) => `${r.method} /${r.pattern.join("/")}`),
  }),
);

route("GET", "/api/status", ({ runtime, res, startedAt }) =>
  sendJson(res, 200, statusView(runtime, startedAt)),
);

route("GET", "/api/listeners", ({ runtime, res }) => sendJson(res, 200, listenerViews(runtime)));

route("GET", "/api/connections", ({ runtime, res, query }) =>
  sendJson(res, 200, allTables(runtime, "connections", parseLimit(query))),
);

route("GET", "/api/listeners/:listener/connections", ({ runtime, res, query, params: [name] }) =>
  sendJson(
    res,
    200,
    listenerTable(runtime, requireListener(runtime, name), "connections", parseLimit(query)),
  ),
);

route("GET", "/api/persistence", ({ runtime, res, query }) =>
  sendJson(res, 200, allTables(runtime, "persistence", parseLimit(query))),
);

route("GET", "/api/listeners/:listener/persistence", ({ runtime, res, query, params: [name] }) =>
  sendJson(
    res,
    200,
    listenerTable(runtime, requireListener(runtime, name), "persistence", parseLimit(query)),
  ),
);

route("GET", "/api/dns", ({ runtime, res }) =>
  sendJson(
    res,
    200,
    [...runtime.listeners.values()].flatMap((listener) =>
      listener.zones === undefined
        ? []
        : [
            {
              listener: listener.name,
              zones: listener.zones(),
              answers: listener.answerCounts?.(),
            },
          ],
    ),
  ),
);

// Kernel virtual services (protocol: kernel) as `ipvsadm -L -n` lists them.
route("GET", "/api/kernel", ({ runtime, res }) =>
  sendJson(
    res,
    200,
    [...runtime.listeners.values()].flatMap((listener) =>
      listener.virtualService === undefined ? [] : [listener.virtualService()],
    ),
  ),
);

route("GET", "/api/pools", ({ runtime, rates, res }) =>
  sendJson(res, 200, poolViews(runtime, rates)),
);

route("GET", "/api/stats", ({ runtime, rates, res, query }) =>
  sendStats(res, poolViews(runtime, rates), query.get("format")),
);

route("GET", "/api/pools/:pool", ({ runtime, rates, res, params: [name] }) =>
  sendJson(res, 200, viewOf(runtime, rates, name, requirePool(runtime, name))),
);

route("GET", "/api/pools/:pool/backends", ({ runtime, rates, res, params: [name] }) =>
  sendJson(res, 200, viewOf(runtime, rates, name, requirePool(runtime, name)).backends),
);

route("GET", "/api/pools/:pool/backends/:id", ({ runtime, rates, res, params: [name, id] }) => {
  const pool = requirePool(runtime, name);
  requireBackend(pool, id);
  const view = viewOf(runtime, rates, name, pool).backends.find((b) => b.id === id);
  sendJson(res, 200, view);
});

route("POST", "/api/pools/:pool/backends", async ({ runtime, rates, req, res, params: [name] }) => {
  const pool = requirePool(runtime, name);
  const body = await readJsonObject(req);
  const parsed = backendSchema.safeParse(body);
  if (!parsed.success) {
    throw new HttpError(400, "invalid backend", {
      errors: describeZodIssues(parsed.error),
      example: { address: "127.0.0.1:8081", name: "web-3", weight: 1 },
    });
  }
  const spec = { ...backendSpecFromConfig(parsed.data), source: "api" as const };
  const id = spec.id ?? formatHostPort(spec.host, spec.port);
  if (pool.get(id) !== undefined) {
    throw new HttpError(409, `backend "${id}" is already in pool "${name}"`);
  }
  pool.add(spec);
  runtime.logger.info({ pool: name, backend: id }, "backend added through the admin API");
  sendJson(
    res,
    201,
    viewOf(runtime, rates, name, pool).backends.find((b) => b.id === id),
  );
});

route("DELETE", "/api/pools/:pool/backends/:id", ({ runtime, res, query, params: [name, id] }) => {
  const pool = requirePool(runtime, name);
  requireBackend(pool, id);
  const now = query.get("now");
  if (now === "1" || now === "true") {
    pool.remove(id);
    runtime.logger.info({ pool: name, backend: id }, "backend removed through the admin API");
    return sendJson(res, 200, { removed: id, pool: name, drained: false });
  }
  pool.drain(id, { remove: true });
  const stillThere = pool.get(id) !== undefined;
  runtime.logger.info(
    { pool: name, backend: id, draining: stillThere },
    "backend removal requested",
  );
  // 202 while it drains: it leaves when its last request or connection ends.
  sendJson(res, stillThere ? 202 : 200, { removed: id, pool: name, draining: stillThere });
});

route("PUT", "/api/pools/:pool/backends/:id/weight", async (ctx) => {
  const { runtime, req, params } = ctx;
  const pool = requirePool(runtime, params[0]);
  requireBackend(pool, params[1]);
  const parsed = weightBody.safeParse(await readJsonObject(req));
  if (!parsed.success) {
    throw new HttpError(400, "invalid weight", {
      errors: describeZodIssues(parsed.error),
      example: { weight: 5 },
    });
  }
  pool.setWeight(params[1], parsed.data.weight);
  runtime.logger.info(
    { pool: params[0], backend: params[1], weight: parsed.data.weight },
    "weight set through the admin API",
  );
  sendBackend(ctx);
});

route("POST", "/api/pools/:pool/backends/:id/drain", (ctx) => {
  const pool = requirePool(ctx.runtime, ctx.params[0]);
  requireBackend(pool, ctx.params[1]);
  // ?timeout=30s: connections still open then are closed (the drain's cap).
  const timeout = ctx.query.get("timeout");
  let capMs: number | undefined;
  if (timeout !== null) {
    const parsed = duration.safeParse(/^\d+$/.test(timeout) ? Number(timeout) : timeout);
    if (!parsed.success || parsed.data <= 0 || parsed.data > 86_400_000) {
      throw new HttpError(
        400,
        'timeout: expected a duration above 0 and up to a day, such as "30s"',
      );
    }
    capMs = parsed.data;
  }
  ctx.runtime.drainBackend(ctx.params[0], ctx.params[1], capMs);
  ctx.runtime.logger.info(
    { pool: ctx.params[0], backend: ctx.params[1], capMs: capMs ?? null },
    "backend draining",
  );
  sendBackend(ctx);
});

route("POST", "/api/pools/:pool/backends/:id/enable", (ctx) => setEnabled(ctx, true));
route("POST", "/api/pools/:pool/backends/:id/disable", (ctx) => setEnabled(ctx, false));

route("POST", "/api/reload", async ({ runtime, req, res, query }) => {
  const source = reloadSourceName(query);
  const text = await readText(req);
  const outcome =
    text.trim() === ""
      ? await reloadFromFile(runtime)
      : await reloadFromText(runtime, text, source);
  if (!outcome.ok) {
    throw new HttpError(422, "reload refused; the running config stays in force", {
      errors: outcome.errors,
      issues: outcome.issues,
    });
  }
  sendJson(res, 200, outcome);
});

/** `?source=NAME`: what the errors of a config sent in the body call it (ctl sends the file name). */
function reloadSourceName(query: URLSearchParams): string | undefined {
  const source = query.get("source");
  if (source === null) return undefined;
  // It is echoed in answers and logs: printable text of a sane length only.
  // biome-ignore lint/suspicious/noControlCharactersInRegex: control characters are what is refused
  if (source === "" || source.length > 256 || /[\u0000-\u001f\u007f]/.test(source)) {
    throw new HttpError(400, "source must be a file name of 1 to 256 printable characters");
  }
  return source;
}

const heartbeatBody = z.strictObject({
  address: hostPort,
  name: z.string().min(1).optional(),
  weight: z.number().int().min(0).max(65535).optional(),
  /** The lease lasts this long after each register or renew: "10s" or ms. */
  ttl: duration,
});

route("GET", "/api/heartbeats", ({ runtime, res }) =>
  sendJson(res, 200, runtime.heartbeats.list()),
);

route("POST", "/api/pools/:pool/heartbeats", async ({ runtime, req, res, params: [name] }) => {
  const parsed = heartbeatBody.safeParse(await readJsonObject(req));
  if (!parsed.success) {
    throw new HttpError(400, "invalid heartbeat registration", {
      errors: describeZodIssues(parsed.error),
      example: { address: "127.0.0.1:8081", name: "web-7", weight: 1, ttl: "10s" },
    });
  }
  const { address, name: id, weight, ttl } = parsed.data;
  const lease = await heartbeat(() =>
    runtime.heartbeats.register(name, { ...address, id, weight, ttlMs: ttl }),
  );
  sendJson(res, 201, { pool: name, ...lease, ttlMs: ttl });
});

route(
  "POST",
  "/api/pools/:pool/heartbeats/:id/renew",
  async ({ runtime, res, params: [name, id] }) => {
    const expiresAt = await heartbeat(() => runtime.heartbeats.renew(name, id));
    if (expiresAt === undefined) {
      throw new HttpError(404, `no live lease for "${id}" in pool "${name}"; register again`);
    }
    sendJson(res, 200, { pool: name, id, expiresAt });
  },
);

route("DELETE", "/api/pools/:pool/heartbeats/:id", async ({ runtime, res, params: [name, id] }) => {
  if (!(await heartbeat(() => runtime.heartbeats.deregister(name, id)))) {
    throw new HttpError(404, `no live lease for "${id}" in pool "${name}"`);
  }
  sendJson(res, 200, { pool: name, id, deregistered: true });
});

/**
 * Runs a lease call (a round trip with etcd storage), turning its refusals into 4xx answers
 * and a storage that cannot take it into the registry's own statuses (503, 507).
 */
async function heartbeat<T>(call: () => Promise<T>): Promise<T> {
  try {
    return await call();
  } catch (error) {
    if (error instanceof RegistryError) {
      throw new HttpError(registryErrorStatus(error), error.message);
    }
    if (!(error instanceof HeartbeatError)) throw error;
    const status = error.kind === "not-found" ? 404 : error.kind === "conflict" ? 409 : 400;
    throw new HttpError(status, error.message);
  }
}

defineRegistryRoutes(route);
defineHaRoutes(route);

route("GET", "/api/config", ({ runtime, res }) => sendJson(res, 200, redactConfig(runtime)));

// ---- HTTP cache (docs/cache.md): zones, and purges by URL, tag or everything ----
route("GET", "/api/caches", async ({ runtime, res }) =>
  sendJson(res, 200, await cacheViews(runtime)),
);
route("POST", "/api/caches/purge", async ({ runtime, req, res }) =>
  sendJson(res, 200, await purgeCaches(runtime, await readJsonObject(req))),
);

function setEnabled(ctx: ApiContext, enabled: boolean): void {
  const pool = requirePool(ctx.runtime, ctx.params[0]);
  requireBackend(pool, ctx.params[1]);
  pool.setEnabled(ctx.params[1], enabled);
  ctx.runtime.logger.info(
    { pool: ctx.params[0], backend: ctx.params[1], enabled },
    enabled ? "backend enabled" : "backend disabled",
  );
  sendBackend(ctx);
}

function sendBackend({ runtime, rates, res, params: [name, id] }: ApiContext): void {
  const pool = requirePool(runtime, name);
  sendJson(
    res,
    200,
    viewOf(runtime, rates, name, pool).backends.find((b) => b.id === id),
  );
}

/** The running config; the admin token is never shown. */
function redactConfig(runtime: Runtime): unknown {
  const config = runtime.config;
  if (config.admin?.token === undefined) return config;
  return { ...config, admin: { ...config.admin, token: "(set)" } };
}
