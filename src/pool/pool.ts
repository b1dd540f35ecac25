/** A named set of backends with their state, and the calls data planes use to take one. */
import { algorithms, createBalancer, isAlgorithmName } from "../balancer/index.js";
import type { Balancer, BalancerOptions, PickContext } from "../balancer/types.js";
import { type BackendRole, type BackendSpec, BackendState } from "./backend.js";
import { Lease, type LeaseOwner, type LeaseState, type Outcome } from "./lease.js";

/** Options of a pool; every one has a default. */
export interface PoolOptions {
  /** Algorithm name (`wrr`, `wlc`, `maglev`, ...). Defaults to `wrr`. */
  algorithm?: string;
  algorithmOptions?: BalancerOptions;
  /** Slow start: a backend that comes up ramps its weight over this many ms (0 = off). */
  slowStartMs?: number;
  /** Panic threshold in percent: below this share of healthy primaries, use them all. */
  panicThresholdPercent?: number;
  /** Time constant of the latency EWMA kept per backend, in ms. */
  latencyDecayMs?: number;
  /** The clock in ms; performance.now by default. */
  clock?: () => number;
  /** Uniform random numbers in [0, 1); Math.random by default. */
  random?: () => number;
  /** Where the data planes take hashing keys from (the config's `hash_key`). */
  hashKey?: HashKeySource;
  /** LVS persistence timeout (`ipvsadm -p`) in ms; 0 = off. The L4 data planes keep the table. */
  persistenceMs?: number;
  /** Serve only backends a database check found in this role (`role: primary | replica`). */
  role?: BackendRole;
  /** A replica pool with no replica in service sends reads to the primary instead. */
  fallbackToPrimary?: boolean;
}

/** The config's `hash_key`: a client property or a request field. */
export type HashKeySource =
  | "client_ip"
  | "client_ip_port"
  | "url"
  | "path"
  | "host"
  | { header: string }
  | { cookie: string }
  | { query: string };

/** Pools by name, looked up per use so a reload can swap them (a Map satisfies it). */
export interface PoolLookup {
  get(name: string): Pool | undefined;
}

/** Something that wants to hear about every finished lease (passive health, metrics). */
export type OutcomeObserver = (backend: BackendState, outcome: Outcome, now: number) => void;

/** Something that wants to hear about state changes (health, membership, drain, weight). */
export type PoolObserver = (event: PoolEvent) => void;

export type PoolEvent =
  | { type: "added" | "removed"; pool: string; backend: BackendState }
  | { type: "health"; pool: string; backend: BackendState; health: "up" | "down"; reason: string }
  | { type: "changed"; pool: string; backend: BackendState }
  | {
      type: "role";
      pool: string;
      backend: BackendState;
      role: BackendRole;
      previous: BackendRole | undefined;
      reason: string;
    };

/** How many random re-picks a retry makes before scanning for another backend. */
const EXCLUDE_REPICKS = 4;

export class Pool implements LeaseOwner {
  readonly name: string;
  readonly clock: () => number;
  readonly random: () => number;
  private options: Required<Omit<PoolOptions, "clock" | "random" | "algorithmOptions" | "role">> & {
    algorithmOptions: BalancerOptions;
    role: BackendRole | undefined;
  };
  private primaries: BackendState[] = [];
  private backups: BackendState[] = [];
  private primaryBalancer: Balancer<BackendState>;
  private backupBalancer: Balancer<BackendState>;
  /** Reused for every pick so the hot path does not allocate. */
  private readonly context: PickContext;
  private panicCursor = 0;
  /** Backends by id: persistence and sticky lookups run once per connection or request. */
  private readonly byId = new Map<string, BackendState>();
  /** Primaries whose health is up, counted at each rebuild for the panic threshold. */
  private healthyPrimaries = 0;
  /** True when the algorithm decides by `PickContext.key` (the hashing schedulers). */
  private keyed = false;
  /** Backends to remove once their last connection ends. */
  private readonly removeWhenDrained = new Set<BackendState>();
  private readonly outcomeObservers: OutcomeObserver[] = [];
  private readonly observers: PoolObserver[] = [];
  private rampTimer: NodeJS.Timeout | undefined;

  constructor(name: string, backends: readonly BackendSpec[] = [], options: PoolOptions = {}) {
    this.name = name;
    this.clock = options.clock ?? (() => performance.now());
    this.random = options.random ?? Math.random;
    this.options = {
      algorithm: options.algorithm ?? "wrr",
      algorithmOptions: options.algorithmOptions ?? {},
      slowStartMs: options.slowStartMs ?? 0,
      panicThresholdPercent: options.panicThresholdPercent ?? 0,
      latencyDecayMs: options.latencyDecayMs ?? 10_000,
      hashKey: options.hashKey ?? "client_ip",
      persistenceMs: options.persistenceMs ?? 0,
      role: options.role,
      fallbackToPrimary: options.fallbackToPrimary ?? false,
    };
    this.primaryBalancer = this.makeBalancer();
    this.backupBalancer = this.makeBalancer();
    this.context = { now: 0, random: this.random, key: undefined };
    for (const spec of backends) this.insert(new BackendState(spec));
    this.rebuild();
  }

  /** The algorithm's name. */
  get algorithm(): string {
    return this.options.algorithm;
  }

  /** Where hashing keys come from (`client_ip` unless configured). */
  get hashKey(): HashKeySource {
    return this.options.hashKey;
  }

  /** LVS persistence timeout in ms; 0 when persistence is off. */
  get persistenceMs(): number {
    return this.options.persistenceMs;
  }

  /** The role this pool serves; undefined when any backend may serve. */
  get role(): BackendRole | undefined {
    return this.options.role;
  }

  /** Every backend, primaries first, in configured order. */
  get backends(): readonly BackendState[] {
    return this.backups.length === 0 ? this.primaries : [...this.primaries, ...this.backups];
  }

  /** The backend with this id, if any. */
  get(id: string): BackendState | undefined {
    return this.byId.get(id);
  }

  /**
   * Chooses a backend without taking it. `exclude` (a retry's previous backend) is avoided
   * whenever another backend is available.
   */
  pick(key?: string, exclude?: BackendState): BackendState | undefined {
    const context = this.context;
    context.now = this.clock();
    context.key = key;
    let chosen = this.choose(context);
    if (exclude === undefined || chosen !== exclude) return chosen;
    for (let i = 0; i < EXCLUDE_REPICKS && chosen === exclude; i++) chosen = this.choose(context);
    if (chosen !== exclude) return chosen;
    return this.firstAvailableExcept(exclude) ?? exclude;
  }

  /** Picks a backend and takes it for one connection or request; undefined when none. */
  acquire(key?: string, exclude?: BackendState): Lease | undefined {
    const backend = this.pick(key, exclude);
    return backend === undefined ? undefined : this.take(backend);
  }

  /** Takes a given backend (sticky sessions, persistence tables) for one connection. */
  take(backend: BackendState): Lease {
    backend.inactive++;
    if (backend.inactive > backend.peakInactive) backend.peakInactive = backend.inactive;
    backend.counters.picks++;
    if (backend.maxConnections > 0) this.checkOverload(backend);
    return new Lease(backend, this, this.clock());
  }

  /** @internal Keeps connection counts, overload flags and outcome statistics exact. */
  onLeaseChange(backend: BackendState, from: LeaseState, to: LeaseState, outcome?: Outcome): void {
    if (from === "opening") backend.inactive--;
    else if (from === "active") backend.active--;
    if (to === "active" && ++backend.active > backend.peakActive) {
      backend.peakActive = backend.active;
    }
    if (backend.maxConnections > 0) this.checkOverload(backend);
    if (outcome === undefined) return;
    const now = this.clock();
    const counters = backend.counters;
    counters.requests++;
    if (!outcome.ok) {
      counters.failures++;
      // Still opening when it failed: the connection never came up.
      if (from === "opening") counters.connectErrors++;
      else counters.responseErrors++;
    }
    if (outcome.bytesIn) counters.bytesIn += outcome.bytesIn;
    if (outcome.bytesOut) counters.bytesOut += outcome.bytesOut;
    if (outcome.latencyMs !== undefined) this.observeLatency(backend, outcome.latencyMs, now);
    for (const observer of this.outcomeObservers) observer(backend, outcome, now);
    if (backend.active + backend.inactive === 0 && this.removeWhenDrained.has(backend)) {
      this.remove(backend.id);
    }
  }

  /** Adds a backend; returns the existing one when the id is already in the pool. */
  add(spec: BackendSpec): BackendState {
    const existing = this.get(spec.id ?? new BackendState(spec).id);
    if (existing) return existing;
    const backend = new BackendState(spec);
    backend.upSince = this.clock();
    this.insert(backend);
    this.refresh();
    this.emit({ type: "added", pool: this.name, backend });
    return backend;
  }

  /** Removes a backend at once; its open leases still release cleanly. */
  remove(id: string): boolean {
    const backend = this.get(id);
    if (!backend) return false;
    this.primaries = this.primaries.filter((b) => b !== backend);
    this.backups = this.backups.filter((b) => b !== backend);
    this.byId.delete(backend.id);
    this.removeWhenDrained.delete(backend);
    this.rebuild();
    this.emit({ type: "removed", pool: this.name, backend });
    return true;
  }

  /**
   * Stops sending new work to a backend. With `remove`, it leaves the pool when its last
   * connection or request ends (at once when it has none).
   */
  drain(id: string, options: { remove?: boolean } = {}): boolean {
    const backend = this.get(id);
    if (!backend) return false;
    backend.draining = true;
    if (options.remove) {
      if (backend.connections === 0) return this.remove(id);
      this.removeWhenDrained.add(backend);
    }
    this.changed(backend);
    return true;
  }

  /** Admin enable/disable; enabling also ends a drain. */
  setEnabled(id: string, enabled: boolean): boolean {
    const backend = this.get(id);
    if (!backend) return false;
    backend.enabled = enabled;
    if (enabled) {
      backend.draining = false;
      this.removeWhenDrained.delete(backend);
    }
    this.changed(backend);
    return true;
  }

  /** Sets the configured weight (0 quiesces). */
  setWeight(id: string, weight: number): boolean {
    const backend = this.get(id);
    if (!backend) return false;
    backend.configuredWeight = weight;
    // refresh, not applySlowStart alone: inside a ramp (a backend added with weight 0, then
    // given one) the refresh timer must run on, or the weight stays at today's fraction.
    this.refresh();
    this.emit({ type: "changed", pool: this.name, backend });
    return true;
  }

  /** Health checkers and the passive detector report transitions here. */
  setHealth(id: string, health: "up" | "down", reason = ""): boolean {
    const backend = this.get(id);
    if (!backend || backend.health === health) return false;
    const now = this.clock();
    if (backend.health === "down") backend.pastDowntimeMs += now - backend.healthSince;
    backend.health = health;
    backend.healthSince = now;
    if (health === "up") {
      backend.upSince = now;
    }
    this.changed(backend);
    if (health === "up") this.refresh();
    this.emit({ type: "health", pool: this.name, backend, health, reason });
    return true;
  }

  /** Database checks report the role they found (a promotion, a demotion) here. */
  setRole(id: string, role: BackendRole, reason = ""): boolean {
    const backend = this.get(id);
    if (!backend || backend.role === role) return false;
    const previous = backend.role;
    backend.role = role;
    this.changed(backend);
    this.emit({ type: "role", pool: this.name, backend, role, previous, reason });
    return true;
  }

  /** Keeps a backend out of new picks until `until` (clock ms): nginx's fail_timeout. */
  suspend(id: string, until: number): boolean {
    const backend = this.get(id);
    if (!backend) return false;
    backend.suspendedUntil = until;
    this.changed(backend);
    this.refresh();
    return true;
  }

  /** Sets the multiplier that dynamic weights apply on top of the configured weight. */
  setWeightFactor(id: string, factor: number): boolean {
    const backend = this.get(id);
    if (!backend) return false;
    backend.weightFactor = factor;
    this.refresh(); // as setWeight: keeps a ramp in progress going
    this.emit({ type: "changed", pool: this.name, backend });
    return true;
  }

  /**
   * Re-evaluates time-driven state (slow-start ramps, suspensions that ended) and rebuilds
   * the algorithm when anything changed. Runs by itself while a ramp or suspension is due.
   */
  refresh(): void {
    const now = this.clock();
    let nextDue = Number.POSITIVE_INFINITY;
    for (const backend of this.backends) {
      if (this.applySlowStart(backend, now)) {
        nextDue = Math.min(nextDue, now + Math.max(100, this.options.slowStartMs / 20));
      }
      if (backend.suspendedUntil !== 0) {
        if (backend.suspendedUntil <= now) backend.suspendedUntil = 0;
        else nextDue = Math.min(nextDue, backend.suspendedUntil);
      }
    }
    this.rebuild();
    if (nextDue !== Number.POSITIVE_INFINITY) this.scheduleRefresh(nextDue - now);
  }

  /** Subscribes to finished leases (hot path: keep observers cheap). */
  onOutcome(observer: OutcomeObserver): () => void {
    this.outcomeObservers.push(observer);
    return () => remove(this.outcomeObservers, observer);
  }

  /** Subscribes to membership, health and admin changes. */
  onEvent(observer: PoolObserver): () => void {
    this.observers.push(observer);
    return () => remove(this.observers, observer);
  }

  /** Changes algorithm and pool options in place, keeping backends and their state. */
  reconfigure(options: Omit<PoolOptions, "clock" | "random">): void {
    const algorithmChanged =
      (options.algorithm ?? "wrr") !== this.options.algorithm ||
      JSON.stringify(options.algorithmOptions ?? {}) !==
        JSON.stringify(this.options.algorithmOptions);
    this.options = {
      algorithm: options.algorithm ?? "wrr",
      algorithmOptions: options.algorithmOptions ?? {},
      slowStartMs: options.slowStartMs ?? 0,
      panicThresholdPercent: options.panicThresholdPercent ?? 0,
      latencyDecayMs: options.latencyDecayMs ?? 10_000,
      hashKey: options.hashKey ?? "client_ip",
      persistenceMs: options.persistenceMs ?? 0,
      role: options.role,
      fallbackToPrimary: options.fallbackToPrimary ?? false,
    };
    if (algorithmChanged) {
      this.primaryBalancer = this.makeBalancer();
      this.backupBalancer = this.makeBalancer();
    }
    for (const backend of this.backends) backend.wantedRole = this.options.role;
    this.refresh();
  }

  /** Stops the pool's timers. */
  close(): void {
    if (this.rampTimer) clearTimeout(this.rampTimer);
    this.rampTimer = undefined;
  }

  /** A snapshot for the admin API and `ballast ctl`. */
  toJSON(): Record<string, unknown> {
    return {
      name: this.name,
      algorithm: this.options.algorithm,
      backends: this.backends.map((b) => b.toJSON()),
    };
  }

  private choose(context: PickContext): BackendState | undefined {
    const threshold = this.options.panicThresholdPercent;
    if (threshold > 0 && this.inPanic(threshold)) {
      // Every primary down and a backup up: the backup serves (HAProxy `backup`); spreading
      // over dead primaries is for when nothing healthy is left at all.
      const backup = this.allPrimariesDown() ? this.backupBalancer.pick(context) : undefined;
      return backup ?? this.pickInPanic();
    }
    if (context.key === undefined && this.keyed) return this.pickWithoutKey();
    const chosen = this.primaryBalancer.pick(context);
    if (chosen !== undefined || this.backups.length === 0) return chosen;
    return this.backupBalancer.pick(context);
  }

  /**
   * A hashing pool asked without a key (the header, cookie or parameter is absent): as
   * HAProxy's `balance hdr()`/`url_param` do, fall back to round robin rather than hashing
   * the empty string, which would send every such request to one backend.
   */
  private pickWithoutKey(): BackendState | undefined {
    const usable = (b: BackendState) => b.available && b.weight > 0;
    return this.rotate(this.primaries, usable) ?? this.rotate(this.backups, usable);
  }

  /** The next backend after the shared cursor that passes `usable`, advancing the cursor. */
  private rotate(
    list: readonly BackendState[],
    usable: (backend: BackendState) => boolean,
  ): BackendState | undefined {
    for (let i = 0; i < list.length; i++) {
      const index = (this.panicCursor + i) % list.length;
      if (usable(list[index])) {
        this.panicCursor = (index + 1) % list.length;
        return list[index];
      }
    }
    return undefined;
  }

  /** Envoy's panic mode: too few healthy primaries, so spread over all that are enabled. */
  private inPanic(thresholdPercent: number): boolean {
    const total = this.primaries.length;
    return total > 0 && this.healthyPrimaries * 100 < thresholdPercent * total;
  }

  private allPrimariesDown(): boolean {
    return this.healthyPrimaries === 0;
  }

  private pickInPanic(): BackendState | undefined {
    // Health is ignored here, the connection limit is not: it protects the few still up.
    return this.rotate(
      this.primaries,
      (b) => b.enabled && !b.draining && !b.overloaded && b.weight > 0,
    );
  }

  private firstAvailableExcept(exclude: BackendState): BackendState | undefined {
    const list = this.primaries.some((b) => b.available && b.weight > 0)
      ? this.primaries
      : this.backups;
    const start = Math.floor(this.random() * Math.max(1, list.length));
    for (let i = 0; i < list.length; i++) {
      const backend = list[(start + i) % list.length];
      if (backend !== exclude && backend.available && backend.weight > 0) return backend;
    }
    return undefined;
  }

  private observeLatency(backend: BackendState, sample: number, now: number): void {
    // Peak EWMA: a slower sample is believed at once, a faster one is blended in.
    if (backend.latencyAt === 0 || sample >= backend.latencyMs) {
      backend.latencyMs = sample;
    } else {
      const w = Math.exp(-(now - backend.latencyAt) / this.options.latencyDecayMs);
      backend.latencyMs = backend.latencyMs * w + sample * (1 - w);
    }
    backend.latencyAt = now;
  }

  private checkOverload(backend: BackendState): void {
    if (backend.refreshOverload() && backend.refreshAvailable(this.clock())) {
      // Overload flips are read at pick time; only the algorithms' tables need a rebuild.
      this.rebuild();
    }
  }

  /** Sets the effective weight; returns true while the backend is still ramping up. */
  private applySlowStart(backend: BackendState, now: number): boolean {
    const target = backend.configuredWeight * backend.weightFactor;
    const ramp = this.options.slowStartMs;
    const elapsed = now - backend.upSince;
    if (ramp <= 0 || backend.upSince === 0 || elapsed >= ramp || target === 0) {
      backend.weight = target;
      return false;
    }
    // HAProxy's slowstart: weight grows linearly from a small share to the full weight.
    backend.weight = Math.max(target * (elapsed / ramp), Math.min(target, 1) / 100);
    return true;
  }

  private changed(backend: BackendState): void {
    this.rebuild();
    this.emit({ type: "changed", pool: this.name, backend });
  }

  private rebuild(): void {
    const now = this.clock();
    // Health changes only through setHealth, which rebuilds: count here, not per pick.
    let healthy = 0;
    for (const backend of this.primaries) if (backend.health === "up") healthy++;
    this.healthyPrimaries = healthy;
    for (const backend of this.primaries) backend.refreshAvailable(now);
    for (const backend of this.backups) backend.refreshAvailable(now);
    if (this.options.fallbackToPrimary) this.fallBackToPrimary(now);
    this.primaryBalancer.update(this.primaries);
    this.backupBalancer.update(this.backups);
  }

  /**
   * fallback_to_primary: while no replica is in service, the primary serves the reads
   * (a read pool's primaries act as its backups). Runs at every rebuild, so the primary
   * leaves again as soon as a replica comes back.
   */
  private fallBackToPrimary(now: number): void {
    const all = this.backends;
    if (all.some((backend) => backend.available)) return;
    for (const backend of all) backend.refreshAvailable(now, true);
  }

  private insert(backend: BackendState): void {
    backend.healthSince = this.clock();
    backend.wantedRole = this.options.role;
    (backend.backup ? this.backups : this.primaries).push(backend);
    this.byId.set(backend.id, backend);
  }

  private makeBalancer(): Balancer<BackendState> {
    const name = this.options.algorithm;
    this.keyed = isAlgorithmName(name) && algorithms[name].usesKey;
    return createBalancer(
      this.options.algorithm,
      this.options.algorithmOptions,
    ) as Balancer<BackendState>;
  }

  private scheduleRefresh(delayMs: number): void {
    if (this.rampTimer) clearTimeout(this.rampTimer);
    this.rampTimer = setTimeout(
      () => {
        this.rampTimer = undefined;
        this.refresh();
      },
      Math.max(1, delayMs),
    );
    this.rampTimer.unref();
  }

  private emit(event: PoolEvent): void {
    for (const observer of this.observers) observer(event);
  }
}

function remove<T>(list: T[], item: T): void {
  const index = list.indexOf(item);
  if (index >= 0) list.splice(index, 1);
}
