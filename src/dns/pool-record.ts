/** A pool-backed address record's answer for one client: geo failover, then the outage rule. */
import type { Coordinates } from "../config/geo-database.js";
import type { BackendState } from "../pool/backend.js";
import type { Pool, PoolLookup } from "../pool/pool.js";
import { nearestFirst } from "./great-circle.js";
import { allEnabled, answersFrom } from "./pool-answers.js";
import type { Places, RegionMatch } from "./regions.js";
import type { PoolSet } from "./zone-table.js";

/** What a pool-backed record needs to know of the client, read only when needed. */
export interface ClientFacts {
  /** The client's region; undefined when no region holds it. */
  region(): RegionMatch | undefined;
  /** A stable hashing key for the client (its subnet). */
  key(): string;
  /** Where the client is, for `closest` records; undefined when unknown. */
  location(): Coordinates | undefined;
}

/** The answer: addresses, a sorry CNAME, or SERVFAIL; with the region that decided it. */
export type PoolRecordAnswer =
  | { kind: "addresses"; hosts: string[]; region: string | undefined; pool: string | undefined }
  | { kind: "cname"; target: string; region: string | undefined }
  | { kind: "servfail"; region: string | undefined };

const IPV4 = (b: BackendState) => /^\d{1,3}(?:\.\d{1,3}){3}$/.test(b.host);
const IPV6 = (b: BackendState) => b.host.includes(":");

/** Answers `set` for `client` from `pools`; `places` locates regions and backends for `closest`. */
export function answerPoolSet(
  set: PoolSet,
  pools: PoolLookup,
  client: ClientFacts,
  places: Places,
): PoolRecordAnswer {
  const config = set.config;
  const accept = set.type === "A" ? IPV4 : IPV6;
  let names: readonly string[];
  let region: string | undefined;
  // `closest` without a known client location answers as the record would without it.
  const here = config.closest ? client.location() : undefined;
  if (config.geo !== undefined) {
    const match = client.region();
    region = match?.region ?? "default";
    names =
      here !== undefined
        ? regionsNearestFirst(config.geo, here, places)
        : ((match && config.geo[match.region]) ??
          config.geo.default ?? [...new Set(Object.values(config.geo).flat())]);
  } else {
    names = config.pool === undefined ? [] : [config.pool];
  }
  const pick = (pool: Pool): string[] => {
    const key = keyFor(pool, client);
    if (here === undefined || config.geo !== undefined)
      return hosts(answersFrom(pool, config.answers, key, accept));
    // Every usable backend in the pool's order (backups, drain, panic apply), then the nearest.
    const usable = answersFrom(pool, pool.size, key, accept);
    const near = nearestFirst(usable, here, (b) => places.backendLocation(b.host));
    return hosts(near).slice(0, config.answers);
  };
  // Nearest first: the next pool (the next region) only when this one has nothing up.
  for (const name of names) {
    const pool = pools.get(name);
    if (pool === undefined) continue;
    const chosen = pick(pool);
    if (chosen.length > 0) return { kind: "addresses", hosts: chosen, region, pool: name };
  }
  const down = config.when_all_down;
  if (down === "servfail") return { kind: "servfail", region };
  if (down === "all") {
    const first = names.length > 0 ? pools.get(names[0]) : undefined;
    const all = first === undefined ? [] : hosts(allEnabled(first, accept));
    return { kind: "addresses", hosts: all, region, pool: names[0] };
  }
  if ("cname" in down) return { kind: "cname", target: down.cname, region };
  const fallback = pools.get(down.pool);
  const chosen = fallback === undefined ? [] : pick(fallback);
  return { kind: "addresses", hosts: chosen, region, pool: down.pool };
}

/** The pools of a `geo` map with its regions nearest to `here` first, then `default`'s. */
function regionsNearestFirst(
  geo: Readonly<Record<string, readonly string[]>>,
  here: Coordinates,
  places: Places,
): string[] {
  const regions = Object.keys(geo).filter((name) => name !== "default");
  const ordered = nearestFirst(regions, here, (name) => places.regionLocation(name));
  return [...new Set([...ordered.flatMap((name) => geo[name]), ...(geo.default ?? [])])];
}

/** The client's key for a hashing pool; undefined for the others (they need none). */
function keyFor(pool: Pool, client: ClientFacts): string | undefined {
  return pool.usesKey ? client.key() : undefined;
}

/** Distinct addresses: two backends on one host (other ports) are one answer. */
function hosts(backends: readonly BackendState[]): string[] {
  const out: string[] = [];
  for (const backend of backends) if (!out.includes(backend.host)) out.push(backend.host);
  return out;
}
