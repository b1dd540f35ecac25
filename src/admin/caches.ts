/** The admin API's view of the HTTP cache zones, and purges by URL, tag or everything. */
import { z } from "zod";
import { applyPurge, type CachePurge } from "../cache/purge.js";
import type { CacheZone } from "../cache/zone.js";
import { cacheKeyOf } from "../cache/zone.js";
import { clusterZoneFigures } from "../runtime/cache-figures.js";
import { hasCacheWorkers, purgeInWorkers } from "../runtime/cache-purge-ipc.js";
import type { Runtime } from "../runtime/runtime.js";
import { HttpError } from "./http-util.js";

/** One route's lookups in a zone ("listener/route", the route's name or #index). */
export interface CacheRouteView {
  route: string;
  hits: number;
  stale: number;
  misses: number;
  bypass: number;
  /** (hits + stale) / (hits + stale + misses); 0 before the first lookup. */
  hitRatio: number;
}

/** One zone as the API shows it. */
export interface CacheZoneView {
  name: string;
  /** Memory store. */
  bytes: number;
  entries: number;
  /** Disk store (0 without one). */
  diskBytes: number;
  diskEntries: number;
  /** Why the disk store cannot be used, when it cannot. */
  diskFailure?: string;
  filling: number;
  /** hits / (hits + stale + misses); 0 before the first lookup. */
  hitRatio: number;
  counters: CacheZone["counters"];
  /** The routes that use the zone, each with its own hit ratio. */
  routes: CacheRouteView[];
}

/**
 * Every zone with its usage and counters; with `workers: N`, summed over the workers (the
 * primary serves no traffic itself).
 */
export async function cacheViews(runtime: Runtime): Promise<CacheZoneView[]> {
  const figures = await clusterZoneFigures(runtime.caches);
  return [...runtime.caches.keys()].map((name) => {
    const zone = figures[name];
    const { hits, stale, misses } = zone.counters;
    const routes: CacheRouteView[] = [];
    for (const [route, c] of Object.entries(zone.routes)) {
      routes.push({
        route,
        hits: c.hits,
        stale: c.stale,
        misses: c.misses,
        bypass: c.bypass,
        hitRatio: ratio(c.hits + c.stale, c.misses),
      });
    }
    return {
      name,
      bytes: zone.bytes,
      entries: zone.entries,
      filling: zone.filling,
      diskBytes: zone.diskBytes,
      diskEntries: zone.diskEntries,
      diskFailure: zone.diskFailure,
      hitRatio: ratio(hits + stale, misses),
      counters: zone.counters,
      routes,
    };
  });
}

function ratio(answered: number, misses: number): number {
  const lookups = answered + misses;
  return lookups === 0 ? 0 : answered / lookups;
}

// biome-ignore lint/suspicious/noControlCharactersInRegex: control characters are what is refused
const PRINTABLE = /^[^\u0000-\u001f\u007f\s]+$/;

const purgeBody = z
  .strictObject({
    /** Only this zone; all zones when absent. */
    zone: z.string().min(1).max(256).optional(),
    /** "http://host/path?query" or "host/path?query": every stored variant of it. */
    url: z
      .string()
      .min(1)
      .max(8192)
      .regex(PRINTABLE, "a URL without spaces or control characters")
      .optional(),
    /** Every response whose Surrogate-Key or Cache-Tag named this tag. */
    tag: z
      .string()
      .min(1)
      .max(256)
      .regex(PRINTABLE, "a tag without spaces or control characters")
      .optional(),
    /** Everything. */
    all: z.literal(true).optional(),
  })
  .refine((body) => [body.url, body.tag, body.all].filter((v) => v !== undefined).length === 1, {
    message: "give exactly one of url, tag or all",
  });

/**
 * Applies a purge request's body to this process's zones and, with `workers: N`, to every
 * worker's; how many responses each zone removed (summed over the processes).
 */
export async function purgeCaches(
  runtime: Runtime,
  body: unknown,
): Promise<{ purged: Record<string, number> }> {
  const parsed = purgeBody.safeParse(body);
  if (!parsed.success) {
    throw new HttpError(400, "invalid purge request", {
      errors: parsed.error.issues.map((issue) => issue.message),
      example: { url: "http://www.example.com/products/7", zone: "main" },
    });
  }
  const { zone: only, url, tag, all } = parsed.data;
  if (only !== undefined && !runtime.caches.has(only)) {
    throw new HttpError(404, `no cache zone "${only}"`, { zones: [...runtime.caches.keys()] });
  }
  const purge: CachePurge = {
    zone: only,
    key: url === undefined ? undefined : keyOfUrl(url),
    tag,
    all,
  };
  const purged = applyPurge(runtime.caches, purge);
  if (hasCacheWorkers()) {
    for (const [zone, count] of Object.entries(await purgeInWorkers(purge))) {
      purged[zone] = (purged[zone] ?? 0) + count;
    }
  }
  runtime.logger.info({ url, tag, all, purged }, "cache purged");
  return { purged };
}

/** The cache key of a purge URL: lower-case host without port, then path and query. */
function keyOfUrl(url: string): string {
  const absolute = /^https?:\/\//i.test(url) ? url : `http://${url}`;
  let parsed: URL;
  try {
    parsed = new URL(absolute);
  } catch {
    throw new HttpError(400, `not a URL: ${JSON.stringify(url.slice(0, 200))}`);
  }
  // The listener keys by the request target as sent; URL() would re-encode it, so the
  // target is cut from the text itself.
  const afterScheme = absolute.indexOf("//") + 2;
  const slash = absolute.indexOf("/", afterScheme);
  const query = absolute.indexOf("?", afterScheme);
  const start = slash < 0 ? query : query < 0 ? slash : Math.min(slash, query);
  const target =
    start < 0 ? "/" : absolute[start] === "?" ? `/${absolute.slice(start)}` : absolute.slice(start);
  // As the listener's normalizeHost: lower case, no port, no trailing dot.
  return cacheKeyOf(parsed.hostname.toLowerCase().replace(/\.$/, ""), target);
}
