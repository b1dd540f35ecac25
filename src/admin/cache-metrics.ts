/**
 * Prometheus families of the HTTP cache zones: lookups by result, bytes, evictions, purges,
 * and what the memory and disk stores hold. With `workers: N` the figures are the sum over
 * the workers (cache-figures.ts), asked once per scrape.
 */
import { Counter, Gauge, type Registry } from "prom-client";
import { clusterZoneFigures, type ZoneFigures } from "../runtime/cache-figures.js";
import type { Runtime } from "../runtime/runtime.js";

/** Counter fields of a zone exported as `ballast_cache_requests_total{result}`. */
const RESULTS = ["hits", "stale", "misses", "revalidated", "bypass", "coalesced"] as const;

/** One scrape's families share one answer of the workers given within this (ms). */
const SHARED_MS = 250;

/** Registers the cache families; values are read from the zones at scrape time. */
export function registerCacheMetrics(registry: Registry, runtime: Runtime): void {
  let asked: { at: number; figures: Promise<Record<string, ZoneFigures>> } | undefined;
  const zones = async (): Promise<[string, ZoneFigures][]> => {
    const now = Date.now();
    if (asked === undefined || now - asked.at > SHARED_MS) {
      asked = { at: now, figures: clusterZoneFigures(runtime.caches) };
    }
    return Object.entries(await asked.figures);
  };
  new Counter({
    name: "ballast_cache_requests_total",
    help: "Requests on caching routes by result (hits, stale, misses, revalidated, bypass, coalesced)",
    labelNames: ["zone", "result"],
    registers: [registry],
    async collect() {
      const figures = await zones();
      this.reset();
      for (const [zone, f] of figures) {
        for (const result of RESULTS) this.inc({ zone, result }, f.counters[result]);
      }
    },
  });
  const counters: [string, string, (zone: ZoneFigures) => number][] = [
    [
      "ballast_cache_served_bytes_total",
      "Body bytes sent from the cache",
      (z) => z.counters.bytesServed,
    ],
    [
      "ballast_cache_stored_bytes_total",
      "Body bytes written into the cache",
      (z) => z.counters.storedBytes,
    ],
    ["ballast_cache_stores_total", "Responses written into the cache", (z) => z.counters.stores],
    [
      "ballast_cache_evictions_total",
      "Responses evicted to make room",
      (z) => z.counters.evictions,
    ],
    [
      "ballast_cache_purged_total",
      "Responses removed by purges and unsafe methods",
      (z) => z.counters.purged,
    ],
  ];
  for (const [name, help, read] of counters) {
    new Counter({
      name,
      help,
      labelNames: ["zone"],
      registers: [registry],
      async collect() {
        const figures = await zones();
        this.reset();
        for (const [zone, f] of figures) this.inc({ zone }, read(f));
      },
    });
  }
  const gauges: [string, string, (zone: ZoneFigures) => number][] = [
    [
      "ballast_cache_disk_bytes",
      "Bytes of files held by the zone's disk store",
      (z) => z.diskBytes,
    ],
    ["ballast_cache_disk_entries", "Responses held by the zone's disk store", (z) => z.diskEntries],
    ["ballast_cache_bytes", "Bytes held by the zone's store", (z) => z.bytes],
    ["ballast_cache_entries", "Responses held by the zone's store", (z) => z.entries],
  ];
  for (const [name, help, read] of gauges) {
    new Gauge({
      name,
      help,
      labelNames: ["zone"],
      registers: [registry],
      async collect() {
        const figures = await zones();
        this.reset();
        for (const [zone, f] of figures) this.set({ zone }, read(f));
      },
    });
  }
}
