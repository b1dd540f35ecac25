/** JSON views of the running balancer for the admin API, `ballast ctl` and the dashboard. */
import type { BackendHealthView } from "../health/supervisor.js";
import { formatHostPort } from "../pool/backend.js";
import type { Pool } from "../pool/pool.js";
import type { Runtime } from "../runtime/runtime.js";
import type { RateSampler } from "./rates.js";

/** One backend as the API shows it: state, counters, effective weight, latency, rate. */
export type BackendView = Record<string, unknown> & { id: string; requestsPerSecond: number };

/** One pool as the API shows it. */
export interface PoolView {
  name: string;
  algorithm: string;
  backends: BackendView[];
}

/** One listener as the API shows it. */
export interface ListenerView {
  name: string;
  protocol: string;
  address: string;
  stats: Record<string, number>;
}

/** Every listener with its bound address and counters. */
export function listenerViews(runtime: Runtime): ListenerView[] {
  return [...runtime.listeners.values()].map((listener) => {
    const { host, port } = listener.address();
    return {
      name: listener.name,
      protocol: listener.protocol,
      address: formatHostPort(host, port),
      stats: listener.stats(),
    };
  });
}

/** One pool with every backend's state and rate. */
export function poolView(
  name: string,
  pool: Pool,
  rates: RateSampler,
  checks: readonly BackendHealthView[] = [],
): PoolView {
  const byId = new Map(checks.map((check) => [check.id, check]));
  return {
    name,
    algorithm: pool.algorithm,
    backends: pool.backends.map((backend) => {
      const check = byId.get(backend.id);
      return {
        ...(backend.toJSON() as Record<string, unknown>),
        id: backend.id,
        requestsPerSecond: Math.round(rates.rate(name, backend.id) * 100) / 100,
        check:
          check === undefined
            ? null
            : {
                target: check.target,
                lastResult: check.lastResult,
                lastDetail: check.lastDetail,
                checks: check.checks,
                failedChecks: check.failedChecks,
              },
      };
    }),
  };
}

/** Every pool, in config order. */
export function poolViews(runtime: Runtime, rates: RateSampler): PoolView[] {
  return [...runtime.pools].map(([name, pool]) =>
    poolView(name, pool, rates, runtime.healthChecks(name)),
  );
}

/** Process-wide facts: uptime, config age, reload count. */
export function statusView(runtime: Runtime, startedAt: number): Record<string, unknown> {
  return {
    pid: process.pid,
    uptimeSeconds: Math.round((Date.now() - startedAt) / 1000),
    configFile: runtime.configFile ?? null,
    configLoadedAt: new Date(runtime.configLoadedAt).toISOString(),
    reloads: runtime.reloads,
    pools: runtime.pools.size,
    listeners: runtime.listeners.size,
  };
}
