/** What each name of each zone answers now, per region: the admin API's and `ballast ctl`'s view. */
import type { PoolLookup } from "../pool/pool.js";
import { answerPoolSet, type PoolRecordAnswer } from "./pool-record.js";
import type { RegionMatch, RegionTable } from "./regions.js";
import type { ZoneTable } from "./zone-table.js";

/** One record set as shown: fixed values, or per region what a pool answers now. */
export interface RecordView {
  name: string;
  type: string;
  ttl: number;
  values?: unknown[];
  /** Region (or `default`) → the answer a client there gets now. */
  answers?: Record<string, PoolRecordAnswer>;
}

/** One zone as shown. */
export interface ZoneView {
  zone: string;
  serial: number;
  records: RecordView[];
}

/** Every zone's record sets, with pool-backed ones evaluated for each region. */
export function describeZones(
  zones: ZoneTable,
  regions: RegionTable,
  regionNames: readonly string[],
  pools: PoolLookup,
): ZoneView[] {
  return zones.zones.map((zone) => {
    const records: RecordView[] = [];
    for (const [name, node] of zone.nodes) {
      for (const set of node.values()) {
        if (set.kind === "static") {
          records.push({
            name,
            type: set.type,
            ttl: set.ttl,
            values: set.records.map((r) => plain((r as { data: unknown }).data)),
          });
          continue;
        }
        const answers: Record<string, PoolRecordAnswer> = {};
        for (const region of [...regionNames, "default"]) {
          const match: RegionMatch | undefined =
            region === "default" ? undefined : { region, prefix: 0 };
          // A view is not a query: the algorithm would advance, so one fixed key stands in for the client.
          // A region's client is placed at the region's location, if it has one.
          const client = {
            region: () => match,
            key: () => region,
            location: () => regions.regionLocation(region),
          };
          answers[region] = answerPoolSet(set, pools, client, regions);
        }
        records.push({ name, type: set.type, ttl: set.ttl, answers });
      }
    }
    return { zone: zone.name, serial: zone.soa.serial ?? 0, records };
  });
}

/** Record data ready for JSON: TXT strings as text rather than byte arrays. */
function plain(data: unknown): unknown {
  if (Buffer.isBuffer(data)) return data.toString("utf8");
  if (Array.isArray(data)) return data.map(plain);
  return data;
}
