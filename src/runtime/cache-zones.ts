/** The HTTP cache zones of a config made live, and kept in step with reloads. */
import { CacheZone, type ZoneOptions } from "../cache/zone.js";
import type { CacheZoneConfig } from "../config/schema/cache.js";

/** Creates, resizes and drops zones so that `zones` matches the `caches` section. */
export function syncCacheZones(
  zones: Map<string, CacheZone>,
  config: Record<string, CacheZoneConfig>,
): void {
  for (const [name, section] of Object.entries(config)) {
    const existing = zones.get(name);
    if (existing === undefined) zones.set(name, new CacheZone(name, zoneOptions(section)));
    else existing.configure(zoneOptions(section));
  }
  for (const [name, zone] of zones) {
    if (Object.hasOwn(config, name)) continue;
    // The validated config names no removed zone; its memory is freed at once.
    zone.purgeAll();
    zones.delete(name);
  }
}

function zoneOptions(section: CacheZoneConfig): ZoneOptions {
  return { maxBytes: section.max_size, maxObjectBytes: section.max_object_size };
}
