/** The `caches` section (zones of the HTTP cache) and a route's `cache` option. */
import { z } from "zod";
import { duration } from "./common.js";

const SIZE = /^(\d+(?:\.\d+)?)\s*(b|k|kb|m|mb|g|gb)?$/i;
const UNIT_BYTES: Record<string, number> = {
  b: 1,
  k: 1024,
  kb: 1024,
  m: 1024 ** 2,
  mb: 1024 ** 2,
  g: 1024 ** 3,
  gb: 1024 ** 3,
};

/** A size in bytes: a number, or "512kb", "256mb", "1g". */
export const byteSize = z.union([
  z.number().int().nonnegative(),
  z
    .string()
    .regex(SIZE, 'expected a size such as "512kb", "256mb" or "1g", or a number of bytes')
    .transform((text) => {
      const [, amount, unit] = SIZE.exec(text.trim())!;
      return Math.floor(Number(amount) * UNIT_BYTES[(unit ?? "b").toLowerCase()]);
    }),
]);

/** A zone's disk store (nginx's `proxy_cache_path`): large bodies in files that outlive a restart. */
export const cacheDiskSchema = z.strictObject({
  /** The folder of the files (created when missing); one zone's alone. */
  path: z.string().min(1),
  /** Bytes of files held; the least recently used go first beyond it. */
  max_size: byteSize.default(1024 ** 3),
  /** Bodies at least this long go to disk, smaller ones to memory; 0 puts every body on disk. */
  min_object_size: byteSize.default(1024 ** 2),
});

/** One cache zone: a memory store bounded in bytes, shared by the routes that name it. */
export const cacheZoneSchema = z.strictObject({
  /** Bytes of responses held in memory; the least recently used go first beyond it. */
  max_size: byteSize.default(256 * 1024 ** 2),
  /** Largest response body stored; larger ones stream through uncached. */
  max_object_size: byteSize.default(8 * 1024 ** 2),
  /** Large bodies on disk; without it every stored body is in memory. */
  disk: cacheDiskSchema.optional(),
});

/** The `caches` section: zones by name; two zones never share a disk folder. */
export const cacheZonesSchema = z
  .record(
    z.string().regex(/^[A-Za-z0-9_.-]+$/, "zone names use letters, digits, _ . -"),
    cacheZoneSchema,
  )
  .superRefine((zones, ctx) => {
    const owners = new Map<string, string>();
    for (const [name, zone] of Object.entries(zones)) {
      if (zone.disk === undefined) continue;
      const path = zone.disk.path.replace(/\/+$/, "");
      const owner = owners.get(path);
      if (owner !== undefined) {
        ctx.addIssue({
          code: "custom",
          path: [name, "disk", "path"],
          message: `zone "${owner}" already uses the folder ${path}; each zone needs its own`,
        });
      }
      owners.set(path, name);
    }
  });

/** A route's `cache` option: which zone, and how stale answers may be used. */
export const routeCacheSchema = z.strictObject({
  zone: z.string().min(1),
  /** Serve a stale response this long past expiry while refreshing it in the background. */
  stale_while_revalidate: duration.default(0),
  /** Serve a stale response this long past expiry when every backend fails (5xx, down). */
  stale_if_error: duration.default(0),
  /** Concurrent misses of one key wait this long for the first one's response. */
  lock_timeout: duration.default(5000),
  /** Add X-Cache and Cache-Status to responses. */
  status_headers: z.boolean().default(true),
});

export type CacheZoneConfig = z.infer<typeof cacheZoneSchema>;
export type CacheDiskConfig = z.infer<typeof cacheDiskSchema>;
export type RouteCacheConfig = z.infer<typeof routeCacheSchema>;
