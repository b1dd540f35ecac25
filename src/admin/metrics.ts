/** Prometheus metrics: per-backend counters and gauges, pool and listener stats, health transitions. */
import { Counter, collectDefaultMetrics, Gauge, Registry } from "prom-client";
import type { BackendState } from "../pool/backend.js";
import type { Pool } from "../pool/pool.js";
import type { Runtime } from "../runtime/runtime.js";
import { registerCacheMetrics } from "./cache-metrics.js";
import { registerCheckMetrics } from "./check-metrics.js";
import { registerListenerMetrics } from "./listener-metrics.js";

const PROCESS_PREFIX = "ballast_process_";
const BACKEND_LABELS = ["pool", "backend"] as const;

type BackendReader = (backend: BackendState, pool: Pool) => number;

/** Per-backend counters, read from the pools' own counters at scrape time. */
const backendCounters: [string, string, BackendReader][] = [
  [
    "ballast_backend_requests_total",
    "Requests or connections finished",
    (b) => b.counters.requests,
  ],
  [
    "ballast_backend_failures_total",
    "Requests or connections that failed",
    (b) => b.counters.failures,
  ],
  [
    "ballast_backend_connect_errors_total",
    "Failures before the connection to the backend opened (refused, connect timeout)",
    (b) => b.counters.connectErrors,
  ],
  [
    "ballast_backend_response_errors_total",
    "Failures after the connection opened (reset, response timeout, failure status)",
    (b) => b.counters.responseErrors,
  ],
  [
    "ballast_backend_downtime_seconds_total",
    "Time the backend spent down",
    (b, pool) => b.downtimeMs(pool.clock()) / 1000,
  ],
  ["ballast_backend_picks_total", "Times the balancer chose the backend", (b) => b.counters.picks],
  [
    "ballast_backend_bytes_in_total",
    "Bytes received from clients for the backend",
    (b) => b.counters.bytesIn,
  ],
  [
    "ballast_backend_bytes_out_total",
    "Bytes sent back to clients from the backend",
    (b) => b.counters.bytesOut,
  ],
];

/** Per-backend gauges. */
const backendGauges: [string, string, BackendReader][] = [
  [
    "ballast_backend_active_connections",
    "Open connections (L4) or in-flight requests (L7)",
    (b) => b.active,
  ],
  ["ballast_backend_inactive_connections", "Connections opening or closing", (b) => b.inactive],
  ["ballast_backend_up", "1 when health checks say up", (b) => (b.health === "up" ? 1 : 0)],
  [
    "ballast_backend_available",
    "1 when the balancer may pick the backend",
    (b) => (b.available && !b.overloaded ? 1 : 0),
  ],
  ["ballast_backend_draining", "1 while the backend drains", (b) => (b.draining ? 1 : 0)],
  [
    "ballast_backend_enabled",
    "1 unless disabled through the admin API",
    (b) => (b.enabled ? 1 : 0),
  ],
  ["ballast_backend_weight", "Configured weight", (b) => b.configuredWeight],
  [
    "ballast_backend_effective_weight",
    "Weight after slow start and dynamic weights",
    (b) => b.weight,
  ],
  ["ballast_backend_latency_seconds", "Peak-EWMA latency estimate", (b) => b.latencyMs / 1000],
];

/** The metrics of one runtime in their own registry; `stop` detaches the event observer. */
export interface RuntimeMetrics {
  registry: Registry;
  stop(): void;
}

/** Builds the registry; values are read from the runtime when Prometheus scrapes. */
export function createMetrics(runtime: Runtime): RuntimeMetrics {
  const registry = new Registry();
  collectDefaultMetrics({ register: registry, prefix: PROCESS_PREFIX });
  // prom-client exports these sums as gauges named *_total, which Prometheus reserves for
  // counters; the same numbers by type stay (`..._active_handles`), and sum() gives the total.
  for (const name of ["handles", "requests", "resources"]) {
    registry.removeSingleMetric(`${PROCESS_PREFIX}nodejs_active_${name}_total`);
  }
  const forEachBackend = (visit: (name: string, backend: BackendState, pool: Pool) => void) => {
    for (const [name, pool] of runtime.pools) for (const b of pool.backends) visit(name, b, pool);
  };
  for (const [name, help, read] of backendCounters) {
    new Counter({
      name,
      help,
      labelNames: BACKEND_LABELS,
      registers: [registry],
      collect() {
        // Removed backends must vanish from the output, so start from empty each scrape.
        this.reset();
        forEachBackend((pool, b, p) => this.inc({ pool, backend: b.id }, read(b, p)));
      },
    });
  }
  for (const [name, help, read] of backendGauges) {
    new Gauge({
      name,
      help,
      labelNames: BACKEND_LABELS,
      registers: [registry],
      collect() {
        this.reset();
        forEachBackend((pool, b, p) => this.set({ pool, backend: b.id }, read(b, p)));
      },
    });
  }
  new Gauge({
    name: "ballast_pool_backends",
    help: "Backends in the pool, by state (total, available, up)",
    labelNames: ["pool", "state"],
    registers: [registry],
    collect() {
      this.reset();
      for (const [pool, p] of runtime.pools) {
        let available = 0;
        let up = 0;
        for (const b of p.backends) {
          if (b.available && !b.overloaded) available++;
          if (b.health === "up") up++;
        }
        this.set({ pool, state: "total" }, p.backends.length);
        this.set({ pool, state: "available" }, available);
        this.set({ pool, state: "up" }, up);
      }
    },
  });
  registerListenerMetrics(registry, runtime);
  registerCheckMetrics(registry, runtime);
  registerCacheMetrics(registry, runtime);
  new Counter({
    name: "ballast_config_reloads_total",
    help: "Reloads that changed the running config since the start",
    registers: [registry],
    collect() {
      this.reset();
      this.inc(runtime.reloads);
    },
  });
  new Gauge({
    name: "ballast_config_loaded_timestamp_seconds",
    help: "When the running config was applied",
    registers: [registry],
    collect() {
      this.set(runtime.configLoadedAt / 1000);
    },
  });
  const transitions = new Counter({
    name: "ballast_health_transitions_total",
    help: "Health transitions of backends, by the state entered",
    labelNames: ["pool", "backend", "to"],
    registers: [registry],
  });
  const off = runtime.onPoolEvent((event) => {
    if (event.type === "health") {
      transitions.inc({ pool: event.pool, backend: event.backend.id, to: event.health });
    } else if (event.type === "removed") {
      // Like the per-backend series read at scrape time, a backend that left goes away;
      // registered instances come and go under new names, and their series would pile up.
      transitions.remove({ pool: event.pool, backend: event.backend.id, to: "up" });
      transitions.remove({ pool: event.pool, backend: event.backend.id, to: "down" });
    }
  });
  return { registry, stop: off };
}
