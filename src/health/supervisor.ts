/**
 * The active-check supervisor of one pool: checks every backend on its own jittered timer,
 * counts consecutive results HAProxy's way (`fall` failures take an up backend down, `rise`
 * successes bring a down one up) and reports transitions through `pool.setHealth`.
 *
 * Start state, as HAProxy's `init-state`: the first check of a backend decides at once, and
 * `rise`/`fall` count from then on. Backends already in the pool when the supervisor starts
 * keep the pool's state (up) and go down on a first failed check (HAProxy's default, `up`);
 * a backend that joins later (admin API, registry, reload) starts down, is checked at once
 * and comes up on its first passed check (`down`): no request reaches an address that was
 * never seen answering, and a dead backend at start does not wait `fall` intervals to leave.
 */
import type { HealthCheckConfig } from "../config/schema/health.js";
import type { Logger } from "../log.js";
import { type BackendRole, type BackendState, formatHostPort } from "../pool/backend.js";
import type { Pool, PoolEvent } from "../pool/pool.js";
import { createHealthCheck } from "./create-check.js";
import {
  type CheckResult,
  type CheckStatus,
  type CheckTarget,
  describeError,
  failed,
  type HealthCheck,
} from "./types.js";

/** One backend's check state, for the admin API, `ballast ctl` and the dashboard. */
export interface BackendHealthView {
  id: string;
  /** The "host:port" checked (after the address/port override). */
  target: string;
  health: "up" | "down";
  /** The role the last database check found; null for other checks or before the first. */
  role: BackendRole | null;
  lastResult: "passed" | "failed" | "none";
  lastDetail: string;
  /** The last check's outcome in HAProxy's words (L4OK, L4CON, L7STS...); INI before the first. */
  lastStatus: CheckStatus;
  /** The HTTP status of the last http check's answer; null for other checks. */
  lastCode: number | null;
  /** How long the last check took, ms; null before the first. */
  lastDurationMs: number | null;
  consecutiveSuccesses: number;
  consecutiveFailures: number;
  checks: number;
  failedChecks: number;
  /** Transitions from up to down that these checks made (HAProxy's `chkdown`). */
  downTransitions: number;
  /** Wall-clock ms of the latest finished check; null before the first. */
  lastCheckAt: number | null;
  /** Wall-clock ms of the latest transition this supervisor made; null when none. */
  lastChangeAt: number | null;
}

/** The running checks of one pool. */
export interface PoolHealth {
  readonly pool: string;
  /** Applies a changed `health_check` section; counters and current health carry over. */
  update(config: HealthCheckConfig): void;
  /**
   * Stops every timer and aborts checks in flight. With `restoreUp`, backends this pool's
   * checks hold down are set up again: without checks, nothing would ever bring them back.
   */
  stop(options?: { restoreUp?: boolean }): void;
  /** Every checked backend's state, in pool order. */
  backends(): BackendHealthView[];
  /** One backend's state, by id. */
  backend(id: string): BackendHealthView | undefined;
}

/** Injection points for tests and library users. */
export interface PoolHealthOptions {
  /** A checker to use instead of the one the config names. */
  check?: HealthCheck;
  /** Uniform random numbers in [0, 1) for jitter. */
  random?: () => number;
  /** Wall clock for the views' timestamps. */
  now?: () => number;
  /** Called after every finished check, once the result is counted. */
  onResult?: (view: BackendHealthView, result: CheckResult) => void;
}

/** Per-backend bookkeeping. */
interface Watched {
  readonly backend: BackendState;
  timer: NodeJS.Timeout | undefined;
  inFlight: AbortController | undefined;
  successes: number;
  failures: number;
  checks: number;
  failedChecks: number;
  lastResult: "passed" | "failed" | "none";
  lastDetail: string;
  lastStatus: CheckStatus;
  lastCode: number | null;
  lastDurationMs: number | null;
  downTransitions: number;
  lastCheckAt: number | null;
  lastChangeAt: number | null;
  /** No check has finished yet: the first result decides the state at once. */
  firstCheck: boolean;
}

/** Starts checking every backend of `pool` as `config` says, following membership changes. */
export function startPoolHealth(
  pool: Pool,
  config: HealthCheckConfig,
  logger: Logger,
  options: PoolHealthOptions = {},
): PoolHealth {
  return new PoolHealthSupervisor(pool, config, logger, options);
}

class PoolHealthSupervisor implements PoolHealth {
  readonly pool: string;
  private config: HealthCheckConfig;
  private checker: HealthCheck;
  private readonly watched = new Map<BackendState, Watched>();
  private readonly random: () => number;
  private readonly now: () => number;
  private readonly unsubscribe: () => void;
  private stopped = false;

  constructor(
    private readonly target: Pool,
    config: HealthCheckConfig,
    private readonly logger: Logger,
    private readonly options: PoolHealthOptions,
  ) {
    this.pool = target.name;
    this.config = config;
    this.checker = options.check ?? createHealthCheck(config);
    this.random = options.random ?? Math.random;
    this.now = options.now ?? Date.now;
    this.unsubscribe = target.onEvent((event) => this.onPoolEvent(event));
    // Spread the first round over one interval so N backends are not checked in one burst
    // (HAProxy's spread-checks).
    // With `initial_state: down` nothing is served before a verdict, so none is spread out.
    const startsDown = config.initial_state === "down";
    for (const backend of target.backends) {
      const watched = this.watch(backend);
      if (startsDown && backend.health === "up") {
        target.setHealth(backend.id, "down", "initial state: waiting for its first check");
      }
      this.schedule(watched, startsDown ? 0 : this.random() * config.interval);
    }
  }

  update(config: HealthCheckConfig): void {
    if (this.stopped) return;
    // Build first: a bad pattern throws here and the running config stays.
    const checker = this.options.check ?? createHealthCheck(config);
    this.config = config;
    this.checker = checker;
    for (const watched of this.watched.values()) {
      if (watched.inFlight !== undefined) continue; // it reschedules itself with the new config
      this.schedule(watched, this.random() * config.interval);
    }
  }

  stop(options: { restoreUp?: boolean } = {}): void {
    if (this.stopped) return;
    this.stopped = true;
    this.unsubscribe();
    for (const watched of this.watched.values()) {
      this.unwatch(watched);
      if (options.restoreUp && watched.backend.health === "down") {
        this.target.setHealth(watched.backend.id, "up", "health checks removed");
      }
    }
    this.watched.clear();
  }

  backends(): BackendHealthView[] {
    const views: BackendHealthView[] = [];
    for (const backend of this.target.backends) {
      const watched = this.watched.get(backend);
      if (watched) views.push(this.view(watched));
    }
    return views;
  }

  backend(id: string): BackendHealthView | undefined {
    const backend = this.target.get(id);
    const watched = backend && this.watched.get(backend);
    return watched ? this.view(watched) : undefined;
  }

  private onPoolEvent(event: PoolEvent): void {
    if (event.type === "added") {
      const watched = this.watch(event.backend);
      if (event.backend.health === "up") {
        this.target.setHealth(event.backend.id, "down", "new backend: waiting for its first check");
      }
      this.schedule(watched, 0);
    } else if (event.type === "removed") {
      const watched = this.watched.get(event.backend);
      if (watched) {
        this.unwatch(watched);
        this.watched.delete(event.backend);
      }
    }
  }

  private watch(backend: BackendState): Watched {
    const watched: Watched = {
      backend,
      timer: undefined,
      inFlight: undefined,
      successes: 0,
      failures: 0,
      checks: 0,
      failedChecks: 0,
      lastResult: "none",
      lastDetail: "",
      lastStatus: "INI",
      lastCode: null,
      lastDurationMs: null,
      downTransitions: 0,
      lastCheckAt: null,
      lastChangeAt: null,
      firstCheck: true,
    };
    this.watched.set(backend, watched);
    return watched;
  }

  private unwatch(watched: Watched): void {
    if (watched.timer) clearTimeout(watched.timer);
    watched.timer = undefined;
    watched.inFlight?.abort();
    watched.inFlight = undefined;
  }

  private schedule(watched: Watched, delayMs: number): void {
    if (watched.timer) clearTimeout(watched.timer);
    watched.timer = setTimeout(() => {
      watched.timer = undefined;
      this.run(watched);
    }, delayMs);
  }

  /** The next interval with ±jitter, so checks of many backends do not fall into step. */
  private nextDelay(): number {
    const { interval, jitter } = this.config;
    return Math.max(1, interval * (1 + jitter * (2 * this.random() - 1)));
  }

  private targetOf(backend: BackendState): CheckTarget {
    return {
      host: this.config.address ?? backend.host,
      port: this.config.port ?? backend.port,
    };
  }

  private run(watched: Watched): void {
    const controller = new AbortController();
    watched.inFlight = controller;
    const timeout = setTimeout(() => controller.abort(), this.config.timeout);
    const startedAt = performance.now();
    const settle = (result: CheckResult) => {
      const durationMs = performance.now() - startedAt;
      clearTimeout(timeout);
      // Stopped, removed, or superseded while the check ran: its result no longer counts.
      if (watched.inFlight !== controller || this.watched.get(watched.backend) !== watched) return;
      watched.inFlight = undefined;
      this.record(watched, result, durationMs);
      this.schedule(watched, this.nextDelay());
    };
    this.checker
      .check(this.targetOf(watched.backend), controller.signal)
      .then(settle, (error: unknown) =>
        settle(failed(`checker error: ${describeError(error)}`, "UNK")),
      );
  }

  private record(watched: Watched, result: CheckResult, durationMs: number): void {
    const backend = watched.backend;
    watched.checks++;
    watched.lastResult = result.ok ? "passed" : "failed";
    watched.lastDetail = result.detail;
    // A checker that names no status (a library user's own) reads as a plain connect.
    watched.lastStatus = result.status ?? (result.ok ? "L4OK" : "UNK");
    watched.lastCode = result.code ?? null;
    watched.lastDurationMs = Math.round(durationMs * 10) / 10;
    watched.lastCheckAt = this.now();
    const first = watched.firstCheck;
    watched.firstCheck = false;
    if (result.ok) {
      watched.successes++;
      watched.failures = 0;
      const needed = first ? 1 : this.config.rise;
      if (backend.health === "down" && watched.successes >= needed) {
        this.transition(watched, "up", `${watched.successes} check(s) passed: ${result.detail}`);
      }
    } else {
      watched.failedChecks++;
      watched.failures++;
      watched.successes = 0;
      const needed = first ? 1 : this.config.fall;
      if (backend.health === "up" && watched.failures >= needed) {
        this.transition(watched, "down", `${watched.failures} check(s) failed: ${result.detail}`);
      }
    }
    if (result.role !== undefined) this.applyRole(watched, result.role, result.detail);
    this.options.onResult?.(this.view(watched), result);
  }

  /** A database check found the node's role: a promotion or demotion moves it between pools. */
  private applyRole(watched: Watched, role: BackendRole, detail: string): void {
    const { id, role: previous } = watched.backend;
    if (!this.target.setRole(id, role, detail)) return;
    watched.lastChangeAt = this.now();
    const fields = { pool: this.pool, backend: id, role, previous: previous ?? null, detail };
    this.logger.info(fields, "backend role changed");
  }

  private transition(watched: Watched, health: "up" | "down", reason: string): void {
    const { id } = watched.backend;
    if (!this.target.setHealth(id, health, reason)) return;
    watched.lastChangeAt = this.now();
    if (health === "down") watched.downTransitions++;
    const fields = { pool: this.pool, backend: id, health, reason };
    if (health === "down") this.logger.warn(fields, "backend down");
    else this.logger.info(fields, "backend up");
  }

  private view(watched: Watched): BackendHealthView {
    const target = this.targetOf(watched.backend);
    return {
      id: watched.backend.id,
      target: formatHostPort(target.host, target.port),
      health: watched.backend.health,
      role: watched.backend.role ?? null,
      lastResult: watched.lastResult,
      lastDetail: watched.lastDetail,
      lastStatus: watched.lastStatus,
      lastCode: watched.lastCode,
      lastDurationMs: watched.lastDurationMs,
      consecutiveSuccesses: watched.successes,
      consecutiveFailures: watched.failures,
      checks: watched.checks,
      failedChecks: watched.failedChecks,
      downTransitions: watched.downTransitions,
      lastCheckAt: watched.lastCheckAt,
      lastChangeAt: watched.lastChangeAt,
    };
  }
}
