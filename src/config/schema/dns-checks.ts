/** Checks of a dns listener that span its parts: pools named, regions named, names inside their zone. */
import type { DnsListenerConfig } from "./listener.js";

/** One problem found, with its path below the listener. */
export interface DnsIssue {
  path: (string | number)[];
  message: string;
}

/** Every cross-reference problem of a dns listener; `pools` are the defined pool names. */
export function dnsListenerIssues(
  listener: DnsListenerConfig,
  pools: readonly string[],
): DnsIssue[] {
  const issues: DnsIssue[] = [];
  const checkPool = (name: string, path: (string | number)[]) => {
    if (!pools.includes(name)) {
      issues.push({
        path,
        message: `unknown pool "${name}"; defined pools: ${pools.join(", ") || "(none)"}`,
      });
    }
  };
  const regions = Object.keys(listener.regions);
  const origins = new Set<string>();
  listener.zones.forEach((zone, z) => {
    const origin = absolute(zone.origin);
    if (origins.has(origin))
      issues.push({
        path: ["zones", z, "origin"],
        message: `zone "${zone.origin}" is defined twice`,
      });
    origins.add(origin);
    const kinds = new Map<string, Set<string>>();
    zone.records.forEach((record, r) => {
      const path = ["zones", z, "records", r];
      const owner = ownerOf(record.name, origin);
      if (owner !== origin && !owner.endsWith(`.${origin}`)) {
        issues.push({
          path: [...path, "name"],
          message: `"${record.name}" is outside zone "${zone.origin}"`,
        });
      }
      const types = kinds.get(owner) ?? new Set<string>();
      kinds.set(owner, types);
      // RFC 1034 §3.6.2: a CNAME owner has no other data; one set per type keeps answers clear.
      if (
        types.has(record.type) ||
        (record.type === "CNAME" && types.size > 0) ||
        types.has("CNAME")
      ) {
        issues.push({
          path: [...path, "name"],
          message: types.has(record.type)
            ? `"${record.name}" already has ${record.type} records; list every value in one record`
            : `"${record.name}" mixes a CNAME with other records, which RFC 1034 forbids`,
        });
      }
      types.add(record.type);
      if (record.type === "CNAME" && owner === origin) {
        issues.push({
          path: [...path, "name"],
          message: "the zone apex cannot be a CNAME (it holds SOA and NS)",
        });
      }
      if (record.type !== "A" && record.type !== "AAAA") return;
      if (record.pool !== undefined) checkPool(record.pool, [...path, "pool"]);
      for (const [region, list] of Object.entries(record.geo ?? {})) {
        if (region !== "default" && !regions.includes(region)) {
          issues.push({
            path: [...path, "geo", region],
            message: `unknown region "${region}"; defined regions: ${regions.join(", ") || "(none)"} (or "default")`,
          });
        }
        list.forEach((name, k) => {
          checkPool(name, [...path, "geo", region, k]);
        });
      }
      const down = record.when_all_down;
      if (typeof down === "object" && "pool" in down)
        checkPool(down.pool, [...path, "when_all_down", "pool"]);
    });
  });
  return issues;
}

/** The absolute, lower-case form of a name, with its final dot. */
export function absolute(name: string): string {
  const lower = name.toLowerCase();
  return lower.endsWith(".") ? lower : `${lower}.`;
}

/** A record's owner name as an absolute, lower-case name. */
export function ownerOf(name: string, origin: string): string {
  if (name === "@") return origin;
  if (name.endsWith(".")) return name.toLowerCase();
  return `${name.toLowerCase()}.${origin}`;
}
