/** The HTTP cache zones of a config made live, and kept in step with reloads. */
import { CacheZone, type ZoneOptions } from "../cache/zone.js";
import type { CacheZoneConfig } from "../config/schema/cache.js";
import type { Config } from "../config/schema/index.js";
import { labelCacheRoute } from "../http/cache-glue.js";
import type { Logger } from "../log.js";

/**
 * Creates, resizes and drops zones so that `zones` matches the `caches` section, and names
 * each caching route ("listener/route") for its own hit ratio. A zone with a new disk folder
 * loads it in the background; the outcome is logged.
 */
export function syncCacheZones(
  zones: Map<string, CacheZone>,
  config: Config,
  logger: Logger,
): void {
  for (const [name, section] of Object.entries(config.caches ?? {})) {
    const existing = zones.get(name);
    const loading = existing?.diskLoad;
    const zone = existing ?? new CacheZone(name, zoneOptions(section));
    if (existing === undefined) zones.set(name, zone);
    else existing.configure(zoneOptions(section));
    // A new zone with a disk store, or a zone whose disk folder changed, has a new load.
    if (zone.diskLoad !== undefined && zone.diskLoad !== loading) reportDiskLoad(zone, logger);
  }
  for (const [name, zone] of zones) {
    if (Object.hasOwn(config.caches ?? {}, name)) continue;
    // The validated config names no removed zone; its memory is freed at once (its disk
    // files stay: they are the operator's to remove).
    zone.detach();
    zones.delete(name);
  }
  for (const listener of config.listeners) {
    if (listener.protocol !== "http") continue;
    listener.routes.forEach((route, index) => {
      if (route.cache !== undefined)
        labelCacheRoute(route.cache, `${listener.name}/${route.name ?? `#${index}`}`);
    });
  }
}

function reportDiskLoad(zone: CacheZone, logger: Logger): void {
  const failure = zone.diskFailure;
  if (failure !== undefined) {
    logger.error({ zone: zone.name, error: failure }, "cache disk store cannot be used");
    return;
  }
  zone.diskLoad?.then(
    (result) => logger.info({ zone: zone.name, ...result }, "cache disk store loaded"),
    (error: Error) =>
      logger.error({ zone: zone.name, error: error.message }, "cache disk store failed to load"),
  );
}

function zoneOptions(section: CacheZoneConfig): ZoneOptions {
  const disk = section.disk;
  return {
    maxBytes: section.max_size,
    maxObjectBytes: section.max_object_size,
    disk:
      disk === undefined
        ? undefined
        : { path: disk.path, maxBytes: disk.max_size, minObjectBytes: disk.min_object_size },
  };
}
