/**
 * The registry's routes on the admin API: register, renew and deregister instances (these
 * change state, so they need the admin token like every other change), read services, and
 * watch them by long-poll (`?index=N&wait=30s`, Consul's blocking query) or by an event stream.
 */
import type { ServerResponse } from "node:http";
import { z } from "zod";
import { duration, hostPort } from "../config/schema/index.js";
import type { Registry } from "../registry/registry.js";
import { RegistryError } from "../registry/storage.js";
import type { Runtime } from "../runtime/runtime.js";
import { HttpError, readJsonObject, sendJson } from "./http-util.js";

/** What a registry route handler gets (a subset of the API's context). */
interface RegistryContext {
  runtime: Runtime;
  req: import("node:http").IncomingMessage;
  res: ServerResponse;
  params: string[];
  query: URLSearchParams;
}

type Define = (
  method: string,
  path: string,
  handler: (ctx: RegistryContext) => Promise<void> | void,
) => void;

/** Longest long-poll, as Consul's. */
const MAX_WAIT_MS = 600_000;
const DEFAULT_WAIT_MS = 300_000;

const registerBody = z.strictObject({
  address: hostPort,
  id: z.string().min(1).max(200).optional(),
  weight: z.number().int().min(0).max(65535).optional(),
  zone: z.string().min(1).max(200).optional(),
  metadata: z.record(z.string(), z.string()).optional(),
  /** The lease: "10s" or ms. */
  ttl: duration,
});

function requireRegistry(runtime: Runtime): Registry {
  if (runtime.registry === undefined) {
    throw new HttpError(404, "this node runs no registry; add a registry: section to the config");
  }
  return runtime.registry;
}

/** The status a registry refusal gets: 400 invalid, 404 unknown, 503 unavailable, 507 full. */
export function registryErrorStatus(error: RegistryError): number {
  return { full: 507, "not-found": 404, invalid: 400, unavailable: 503 }[error.kind];
}

/** Runs a store call (at once in memory, a round trip with etcd), turning refusals into 4xx/5xx. */
async function storeCall<T>(call: () => T | Promise<T>): Promise<T> {
  try {
    return await call();
  } catch (error) {
    if (!(error instanceof RegistryError)) throw error;
    throw new HttpError(registryErrorStatus(error), error.message);
  }
}

/** `?wait=`: a duration up to ten minutes. */
function parseWait(query: URLSearchParams): number {
  const raw = query.get("wait");
  if (raw === null) return DEFAULT_WAIT_MS;
  const parsed = duration.safeParse(/^\d+$/.test(raw) ? Number(raw) : raw);
  if (!parsed.success || parsed.data > MAX_WAIT_MS) {
    throw new HttpError(400, 'wait must be a duration up to 10m, such as "30s"');
  }
  return parsed.data;
}

/** `?index=`: a non-negative integer, or undefined for no wait. */
function parseIndex(query: URLSearchParams): number | undefined {
  const raw = query.get("index");
  if (raw === null) return undefined;
  if (!/^\d{1,15}$/.test(raw)) throw new HttpError(400, "index must be a non-negative integer");
  return Number(raw);
}

/** Most registrations plus renewals in one batch. */
const MAX_BATCH = 1000;

const batchBody = z.strictObject({
  register: z
    .array(registerBody.extend({ service: z.string().min(1).max(200) }))
    .max(MAX_BATCH)
    .optional(),
  renew: z
    .array(z.strictObject({ service: z.string().min(1).max(200), id: z.string().min(1).max(200) }))
    .max(MAX_BATCH)
    .optional(),
});

/** How many items of a batch are in flight at once in the storage (etcd: round trips). */
const BATCH_IN_FLIGHT = 64;

/** An item's answer when the storage refused it: why, and the status a single call would get. */
function refusal(error: unknown): { error: string; status: number } {
  if (!(error instanceof RegistryError)) throw error;
  return { error: error.message, status: registryErrorStatus(error) };
}

/** `work` over every item, at most `limit` at once, answers in the items' order. */
async function mapInFlight<T, R>(
  items: T[],
  limit: number,
  work: (item: T) => Promise<R>,
): Promise<R[]> {
  const answers = new Array<R>(items.length);
  let next = 0;
  const lane = async () => {
    while (next < items.length) {
      const at = next++;
      answers[at] = await work(items[at]);
    }
  };
  await Promise.all(Array.from({ length: Math.min(limit, items.length) }, lane));
  return answers;
}

/**
 * Many registrations and renewals in one call, for an agent that speaks for the instances of
 * its host (Nacos's batch registration): one HTTP exchange instead of hundreds. Each item is
 * answered on its own, so one bad item loses none of the others; an item the storage could
 * not take (etcd without quorum) says so with the status a single call would get (503).
 * Registrations go first, so a batch may register an instance and renew another.
 */
async function batch(registry: Registry, body: z.infer<typeof batchBody>) {
  const registered = await mapInFlight(
    body.register ?? [],
    BATCH_IN_FLIGHT,
    async ({ service, address, id, weight, zone, metadata, ttl }) => {
      try {
        const lease = await registry.store.register(service, {
          ...address,
          id,
          weight,
          zone,
          metadata,
          ttlMs: ttl,
        });
        return { service, ...lease };
      } catch (error) {
        return { service, id, ...refusal(error) };
      }
    },
  );
  const renewed = await mapInFlight(body.renew ?? [], BATCH_IN_FLIGHT, async ({ service, id }) => {
    try {
      const expiresAt = await registry.store.renew(service, id);
      return expiresAt === undefined
        ? { service, id, error: "no lease; register again", status: 404 }
        : { service, id, expiresAt };
    } catch (error) {
      return { service, id, ...refusal(error) };
    }
  });
  return { registered, renewed };
}

/** Adds the registry's routes through the API's `route`. */
export function defineRegistryRoutes(route: Define): void {
  route("POST", "/api/registry/batch", async ({ runtime, req, res }) => {
    const registry = requireRegistry(runtime);
    const parsed = batchBody.safeParse(await readJsonObject(req));
    if (!parsed.success) {
      throw new HttpError(400, "invalid batch", {
        errors: parsed.error.issues.slice(0, 20).map((i) => `${i.path.join(".")}: ${i.message}`),
        example: {
          register: [{ service: "api", address: "127.0.0.1:8081", id: "api-1", ttl: "10s" }],
          renew: [{ service: "api", id: "api-2" }],
        },
      });
    }
    sendJson(res, 200, await batch(registry, parsed.data), true);
  });

  route("GET", "/api/registry/services", ({ runtime, res }) => {
    const registry = requireRegistry(runtime);
    sendJson(res, 200, {
      index: registry.store.index,
      services: registry.store.list(),
      watchers: registry.watches.watchers(),
    });
  });

  route(
    "GET",
    "/api/registry/services/:service",
    async ({ runtime, res, query, params: [service] }) => {
      const registry = requireRegistry(runtime);
      const index = parseIndex(query);
      const wait = parseWait(query);
      const snapshot =
        index === undefined
          ? registry.store.snapshot(service)
          : await registry.watches.waitForChange(service, index, wait);
      if (snapshot === undefined) throw new HttpError(503, "the registry is stopping");
      res.setHeader("x-ballast-index", String(snapshot.index));
      sendJson(res, 200, snapshot);
    },
  );

  route("GET", "/api/registry/services/:service/events", ({ runtime, res, params: [service] }) => {
    requireRegistry(runtime).watches.stream(service, res);
  });

  route("GET", "/api/registry/services/:service/leases", ({ runtime, res, params: [service] }) => {
    sendJson(res, 200, requireRegistry(runtime).store.leases(service));
  });

  route(
    "POST",
    "/api/registry/services/:service/instances",
    async ({ runtime, req, res, params: [service] }) => {
      const registry = requireRegistry(runtime);
      const parsed = registerBody.safeParse(await readJsonObject(req));
      if (!parsed.success) {
        throw new HttpError(400, "invalid registration", {
          errors: parsed.error.issues.map((i) => `${i.path.join(".")}: ${i.message}`),
          example: { address: "127.0.0.1:8081", id: "api-1", zone: "a", ttl: "10s" },
        });
      }
      const { address, id, weight, zone, metadata, ttl } = parsed.data;
      const lease = await storeCall(() =>
        registry.store.register(service, { ...address, id, weight, zone, metadata, ttlMs: ttl }),
      );
      sendJson(res, 201, { service, ...lease, ttlMs: ttl }, true);
    },
  );

  route(
    "POST",
    "/api/registry/services/:service/instances/:id/renew",
    async ({ runtime, res, params: [service, id] }) => {
      const registry = requireRegistry(runtime);
      const expiresAt = await storeCall(() => registry.store.renew(service, id));
      if (expiresAt === undefined) {
        throw new HttpError(404, `no lease for "${id}" in service "${service}"; register again`);
      }
      sendJson(res, 200, { service, id, expiresAt }, true);
    },
  );

  route(
    "DELETE",
    "/api/registry/services/:service/instances/:id",
    async ({ runtime, res, params: [service, id] }) => {
      const registry = requireRegistry(runtime);
      if (!(await storeCall(() => registry.store.deregister(service, id)))) {
        throw new HttpError(404, `no instance "${id}" in service "${service}"`);
      }
      sendJson(res, 200, { service, id, deregistered: true });
    },
  );
}
