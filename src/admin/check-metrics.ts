/** Active-check metrics per backend: the last check's status and duration, check counts. */
import { Counter, Gauge, type Registry } from "prom-client";
import type { BackendHealthView } from "../health/supervisor.js";
import type { Runtime } from "../runtime/runtime.js";

const LABELS = ["pool", "backend"] as const;

/** Registers the check families; backends of pools without `health_check` have no series. */
export function registerCheckMetrics(registry: Registry, runtime: Runtime): void {
  const forEachCheck = (
    visit: (labels: { pool: string; backend: string }, check: BackendHealthView) => void,
  ) => {
    for (const pool of runtime.pools.keys()) {
      for (const check of runtime.healthChecks(pool)) visit({ pool, backend: check.id }, check);
    }
  };
  new Gauge({
    name: "ballast_backend_check_status",
    help: "1 for the last active check's status in HAProxy's words (L4OK, L4CON, L7STS, ...)",
    labelNames: [...LABELS, "status"],
    registers: [registry],
    collect() {
      this.reset();
      forEachCheck((labels, check) => this.set({ ...labels, status: check.lastStatus }, 1));
    },
  });
  new Gauge({
    name: "ballast_backend_check_duration_seconds",
    help: "How long the last active check took",
    labelNames: LABELS,
    registers: [registry],
    collect() {
      this.reset();
      forEachCheck((labels, check) => {
        if (check.lastDurationMs !== null) this.set(labels, check.lastDurationMs / 1000);
      });
    },
  });
  new Counter({
    name: "ballast_backend_checks_total",
    help: "Active checks finished",
    labelNames: LABELS,
    registers: [registry],
    collect() {
      this.reset();
      forEachCheck((labels, check) => this.inc(labels, check.checks));
    },
  });
  new Counter({
    name: "ballast_backend_failed_checks_total",
    help: "Active checks that failed",
    labelNames: LABELS,
    registers: [registry],
    collect() {
      this.reset();
      forEachCheck((labels, check) => this.inc(labels, check.failedChecks));
    },
  });
}
