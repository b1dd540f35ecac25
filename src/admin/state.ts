/** JSON views of the running balancer for the admin API, `ballast ctl` and the dashboard. */
import type { BackendHealthView } from "../health/supervisor.js";
import { type BackendState, formatHostPort } from "../pool/backend.js";
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
  totals: PoolTotals;
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

/** rise and fall of a pool's active checks, to show "DOWN 1/2" while a backend climbs back. */
export interface CheckThresholds {
  rise: number;
  fall: number;
}

/** One pool with every backend's state and rate, the check details, and the pool's totals. */
export function poolView(
  name: string,
  pool: Pool,
  rates: RateSampler,
  checks: readonly BackendHealthView[] = [],
  thresholds?: CheckThresholds,
): PoolView {
  const byId = new Map(checks.map((check) => [check.id, check]));
  const now = pool.clock();
  const wallNow = Date.now();
  const backends = pool.backends.map((backend) => {
    const check = byId.get(backend.id);
    const stateMs = Math.max(0, now - backend.healthSince);
    return {
      ...(backend.toJSON() as Record<string, unknown>),
      id: backend.id,
      requestsPerSecond: Math.round(rates.rate(name, backend.id) * 100) / 100,
      status: statusOf(backend, check, thresholds),
      sessions: {
        current: backend.active,
        max: backend.peakActive,
        limit: backend.maxConnections > 0 ? backend.maxConnections : null,
      },
      queue: { current: backend.inactive, max: backend.peakInactive },
      errors: {
        connect: backend.counters.connectErrors,
        response: backend.counters.responseErrors,
      },
      stateSince: new Date(wallNow - stateMs).toISOString(),
      stateSeconds: Math.floor(stateMs / 1000),
      downtimeSeconds: Math.floor(backend.downtimeMs(now) / 1000),
      check: check === undefined ? null : checkView(check),
    };
  });
  return { name, algorithm: pool.algorithm, backends, totals: poolTotals(backends) };
}

/** A backend's status in HAProxy's words: UP, DOWN, MAINT (disabled), DRAIN, "UP 1/3" going down. */
function statusOf(
  backend: BackendState,
  check: BackendHealthView | undefined,
  thresholds: CheckThresholds | undefined,
): string {
  if (!backend.enabled) return "MAINT";
  if (backend.draining) return "DRAIN";
  const health = backend.health === "up" ? "UP" : "DOWN";
  if (check === undefined || thresholds === undefined) return health;
  // HAProxy shows the count towards the next transition: "DOWN 1/2" is one passed check of rise 2.
  if (backend.health === "up" && check.consecutiveFailures > 0) {
    return `UP ${check.consecutiveFailures}/${thresholds.fall}`;
  }
  if (backend.health === "down" && check.consecutiveSuccesses > 0) {
    return `DOWN ${check.consecutiveSuccesses}/${thresholds.rise}`;
  }
  return health;
}

/** The check part of a backend's view, with times as ISO strings. */
function checkView(check: BackendHealthView): Record<string, unknown> {
  const iso = (ms: number | null) => (ms === null ? null : new Date(ms).toISOString());
  return {
    target: check.target,
    status: check.lastStatus,
    code: check.lastCode,
    durationMs: check.lastDurationMs,
    summary: checkSummary(check),
    lastResult: check.lastResult,
    lastDetail: check.lastDetail,
    consecutiveSuccesses: check.consecutiveSuccesses,
    consecutiveFailures: check.consecutiveFailures,
    checks: check.checks,
    failedChecks: check.failedChecks,
    downTransitions: check.downTransitions,
    lastCheckAt: iso(check.lastCheckAt),
    lastChangeAt: iso(check.lastChangeAt),
  };
}

/** "L7STS/500 in 1ms", as HAProxy's stats page writes the last check. */
export function checkSummary(check: BackendHealthView): string {
  if (check.lastDurationMs === null) return check.lastStatus;
  const code = check.lastCode === null ? "" : `/${check.lastCode}`;
  return `${check.lastStatus}${code} in ${Math.round(check.lastDurationMs)}ms`;
}

/** Sums over a pool's backends: the pool row of the dashboard and the stats export. */
export interface PoolTotals {
  backends: number;
  up: number;
  available: number;
  active: number;
  inactive: number;
  requests: number;
  failures: number;
  connectErrors: number;
  responseErrors: number;
  picks: number;
  bytesIn: number;
  bytesOut: number;
  requestsPerSecond: number;
}

function poolTotals(backends: readonly BackendView[]): PoolTotals {
  const totals: PoolTotals = {
    backends: backends.length,
    up: 0,
    available: 0,
    active: 0,
    inactive: 0,
    requests: 0,
    failures: 0,
    connectErrors: 0,
    responseErrors: 0,
    picks: 0,
    bytesIn: 0,
    bytesOut: 0,
    requestsPerSecond: 0,
  };
  const sum = (key: keyof PoolTotals, view: BackendView) => {
    totals[key] += Number(view[key] ?? 0);
  };
  for (const view of backends) {
    if (view.health === "up") totals.up++;
    if (view.available === true) totals.available++;
    for (const key of SUMMED) sum(key, view);
  }
  totals.requestsPerSecond = Math.round(totals.requestsPerSecond * 100) / 100;
  return totals;
}

const SUMMED = [
  "active",
  "inactive",
  "requests",
  "failures",
  "connectErrors",
  "responseErrors",
  "picks",
  "bytesIn",
  "bytesOut",
  "requestsPerSecond",
] as const;

/** Every pool, in config order. */
export function poolViews(runtime: Runtime, rates: RateSampler): PoolView[] {
  return [...runtime.pools].map(([name, pool]) =>
    poolView(name, pool, rates, runtime.healthChecks(name), checkThresholds(runtime, name)),
  );
}

/** rise and fall of a pool's `health_check`, when it has one. */
export function checkThresholds(runtime: Runtime, pool: string): CheckThresholds | undefined {
  const pools = runtime.config.pools;
  const check = Object.hasOwn(pools, pool) ? pools[pool].health_check : undefined;
  return check === undefined ? undefined : { rise: check.rise, fall: check.fall };
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
    registry: runtime.registry !== undefined,
  };
}
