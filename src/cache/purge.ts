/** A purge of the HTTP cache (by URL, tag or everything), applied to a set of zones. */
import type { CacheZone } from "./zone.js";

/** What to remove: exactly one of `key`, `tag` or `all`; `zone` limits it to one zone. */
export interface CachePurge {
  zone?: string;
  /** A cache key (host and target, see cacheKeyOf): every variant of that URL. */
  key?: string;
  /** Every response whose Surrogate-Key or Cache-Tag named it. */
  tag?: string;
  all?: boolean;
}

/** Applies a purge; how many responses each affected zone removed. */
export function applyPurge(
  zones: ReadonlyMap<string, CacheZone>,
  purge: CachePurge,
): Record<string, number> {
  const purged: Record<string, number> = {};
  for (const zone of zones.values()) {
    if (purge.zone !== undefined && zone.name !== purge.zone) continue;
    purged[zone.name] =
      purge.key !== undefined
        ? zone.invalidate(purge.key)
        : purge.tag !== undefined
          ? zone.purgeTag(purge.tag)
          : purge.all === true
            ? zone.purgeAll()
            : 0;
  }
  return purged;
}

/** True for a value shaped like a CachePurge (it crossed a process boundary). */
export function isCachePurge(value: unknown): value is CachePurge {
  if (typeof value !== "object" || value === null) return false;
  const purge = value as Record<string, unknown>;
  const optionalString = (field: unknown) => field === undefined || typeof field === "string";
  return (
    optionalString(purge.zone) &&
    optionalString(purge.key) &&
    optionalString(purge.tag) &&
    (purge.all === undefined || typeof purge.all === "boolean")
  );
}
