/** Test helpers for the HTTP cache: a listener with one caching route and its zone. */
import { closeSync, openSync, readdirSync, readSync, statSync } from "node:fs";
import { join } from "node:path";

import { CacheZone, type ZoneOptions } from "../../src/cache/zone.js";
import { httpListenerSchema, poolSchema } from "../../src/config/schema/index.js";
import { createHttpListener } from "../../src/http/listener.js";
import { silentLogger } from "../../src/log.js";
import type { Listener } from "../../src/net/listener.js";
import type { Pool } from "../../src/pool/pool.js";
import { createPoolFromConfig } from "../../src/runtime/pools.js";
import { backendsOf, type TestBackend } from "../http/helpers.js";

export interface CachingProxy {
  port: number;
  zone: CacheZone;
  listener: Listener;
  close(): Promise<void>;
}

/**
 * A listener whose one route caches in zone "z" (`cache` adds route cache options) in front
 * of the given backends.
 */
export async function startCachingProxy(
  backends: TestBackend[],
  cache: Record<string, unknown> = {},
  /** Options of a new zone "z", or a zone to use. */
  zoneOptions: Partial<ZoneOptions> | CacheZone = {},
  listener: Record<string, unknown> = {},
): Promise<CachingProxy> {
  const config = httpListenerSchema.parse({
    name: "cache-test",
    protocol: "http",
    bind: "127.0.0.1:0",
    access_log: false,
    routes: [{ match: { path_prefix: "/" }, pool: "p", cache: { zone: "z", ...cache } }],
    ...listener,
  });
  const poolConfig = poolSchema.parse({ backends: backendsOf(backends) });
  const pools = new Map<string, Pool>([["p", createPoolFromConfig("p", poolConfig)]]);
  const zone =
    zoneOptions instanceof CacheZone
      ? zoneOptions
      : new CacheZone("z", {
          maxBytes: zoneOptions.maxBytes ?? 64 * 1024 * 1024,
          maxObjectBytes: zoneOptions.maxObjectBytes ?? 8 * 1024 * 1024,
          disk: zoneOptions.disk,
        });
  await zone.diskLoad;
  const live = createHttpListener(config, {
    pools,
    logger: silentLogger,
    caches: new Map([["z", zone]]),
  });
  await live.start();
  return {
    port: live.address().port,
    zone,
    listener: live,
    close: async () => {
      await live.stop({ graceful: false });
      for (const pool of pools.values()) pool.close();
    },
  };
}

/** The response files of a disk store's folder (not its temp folder). */
export function storedFiles(folder: string): string[] {
  const files: string[] = [];
  for (const sub of readdirSync(folder)) {
    if (sub === "tmp") continue;
    for (const name of readdirSync(join(folder, sub))) files.push(join(folder, sub, name));
  }
  return files;
}

/** The stored file whose head names `key` (host and target); the head is JSON after the body. */
export function fileOfKey(folder: string, key: string): string | undefined {
  return storedFiles(folder).find((file) => {
    const { size } = statSync(file);
    const tail = Buffer.alloc(Math.min(size, 4096));
    const fd = openSync(file, "r");
    try {
      readSync(fd, tail, 0, tail.length, size - tail.length);
    } finally {
      closeSync(fd);
    }
    return tail.toString("latin1").includes(`"key":${JSON.stringify(key)}`);
  });
}
