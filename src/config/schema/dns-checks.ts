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
  issues.push(...regionIssues(listener));
  const located = Object.entries(listener.regions)
    .filter(([, region]) => region.location !== undefined)
    .map(([name]) => name);
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
      if (record.closest) issues.push(...closestIssues(listener, record, path, located));
      const down = record.when_all_down;
      if (typeof down === "object" && "pool" in down)
        checkPool(down.pool, [...path, "when_all_down", "pool"]);
    });
  });
  return issues;
}

/** Countries and continents need the database, and each belongs to one region only. */
function regionIssues(listener: DnsListenerConfig): DnsIssue[] {
  const issues: DnsIssue[] = [];
  const owners = { countries: new Map<string, string>(), continents: new Map<string, string>() };
  for (const [name, region] of Object.entries(listener.regions)) {
    for (const key of ["countries", "continents"] as const) {
      if (region[key].length > 0 && listener.geo_database === undefined) {
        issues.push({
          path: ["regions", name, key],
          message: `${key} are looked up in a MaxMind database: set geo_database to a GeoLite2 Country or City .mmdb file`,
        });
      }
      region[key].forEach((code, i) => {
        const owner = owners[key].get(code);
        if (owner !== undefined && owner !== name) {
          issues.push({
            path: ["regions", name, key, i],
            message: `"${code}" is already in region "${owner}"; a client must belong to one region`,
          });
        }
        owners[key].set(code, name);
      });
    }
  }
  return issues;
}

/** A `closest` record needs to know where clients and its answers are. */
function closestIssues(
  listener: DnsListenerConfig,
  record: Extract<DnsListenerConfig["zones"][number]["records"][number], { type: "A" | "AAAA" }>,
  path: (string | number)[],
  located: readonly string[],
): DnsIssue[] {
  const issues: DnsIssue[] = [];
  const at = [...path, "closest"];
  if (record.values !== undefined) {
    issues.push({ path: at, message: "closest orders pool answers; fixed `values` have none" });
    return issues;
  }
  if (listener.geo_database === undefined && located.length === 0) {
    issues.push({
      path: at,
      message:
        "closest needs to know where clients are: set geo_database (a City database) or give regions a location",
    });
  }
  if (record.geo !== undefined) {
    for (const region of Object.keys(record.geo)) {
      if (region !== "default" && !located.includes(region) && region in listener.regions) {
        issues.push({
          path: [...path, "geo", region],
          message: `region "${region}" has no location; closest orders regions by their location: { latitude, longitude }`,
        });
      }
    }
  } else if (listener.geo_database === undefined && Object.keys(listener.locations).length === 0) {
    issues.push({
      path: at,
      message:
        "closest needs to know where the pool's backends are: list them under the listener's locations, or set geo_database",
    });
  }
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
