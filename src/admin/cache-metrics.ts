/**
 * Prometheus families of the HTTP cache zones: lookups by result, bytes, evictions, purges,
 * and what the memory and disk stores hold.
 */
import { Counter, Gauge, type Registry } from "prom-client";
import type { CacheZone } from "../cache/zone.js";
import type { Runtime } from "../runtime/runtime.js";

/** Counter fields of a zone exported as `ballast_cache_requests_total{result}`. */
const RESULTS = ["hits", "stale", "misses", "revalidated", "bypass", "coalesced"] as const;

/** Registers the cache families; values are read from the zones at scrape time. */
export function registerCacheMetrics(registry: Registry, runtime: Runtime): void {
  const zones = () => runtime.caches.values();
  new Counter({
    name: "ballast_cache_requests_total",
    help: "Requests on caching routes by result (hits, stale, misses, revalidated, bypass, coalesced)",
    labelNames: ["zone", "result"],
    registers: [registry],
    collect() {
      this.reset();
      for (const zone of zones()) {
        for (const result of RESULTS) this.inc({ zone: zone.name, result }, zone.counters[result]);
      }
    },
  });
  const counters: [string, string, (zone: CacheZone) => number][] = [
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
      collect() {
        this.reset();
        for (const zone of zones()) this.inc({ zone: zone.name }, read(zone));
      },
    });
  }
  const gauges: [string, string, (zone: CacheZone) => number][] = [
    [
      "ballast_cache_disk_bytes",
      "Bytes of files held by the zone's disk store",
      (z) => z.usage().diskBytes,
    ],
    [
      "ballast_cache_disk_entries",
      "Responses held by the zone's disk store",
      (z) => z.usage().diskEntries,
    ],
  ];
  for (const [name, help, read] of gauges) {
    new Gauge({
      name,
      help,
      labelNames: ["zone"],
      registers: [registry],
      collect() {
        this.reset();
        for (const zone of zones()) this.set({ zone: zone.name }, read(zone));
      },
    });
  }
  new Gauge({
    name: "ballast_cache_bytes",
    help: "Bytes held by the zone's store",
    labelNames: ["zone"],
    registers: [registry],
    collect() {
      this.reset();
      for (const zone of zones()) this.set({ zone: zone.name }, zone.usage().bytes);
    },
  });
  new Gauge({
    name: "ballast_cache_entries",
    help: "Responses held by the zone's store",
    labelNames: ["zone"],
    registers: [registry],
    collect() {
      this.reset();
      for (const zone of zones()) this.set({ zone: zone.name }, zone.usage().entries);
    },
  });
}
