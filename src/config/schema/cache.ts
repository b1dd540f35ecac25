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

/** One cache zone: a memory store bounded in bytes, shared by the routes that name it. */
export const cacheZoneSchema = z.strictObject({
  /** Bytes of responses held; the least recently used go first beyond it. */
  max_size: byteSize.default(256 * 1024 ** 2),
  /** Largest response body stored; larger ones stream through uncached. */
  max_object_size: byteSize.default(8 * 1024 ** 2),
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
export type RouteCacheConfig = z.infer<typeof routeCacheSchema>;
