/**
 * A named set of backends: their state and membership (health, weights, slow start, drain,
 * suspensions, latency, connection counts), the persistence and sticky tables, and
 * `select()`, the one way every data plane chooses backends. The choosing itself (panic
 * mode, backups, the algorithm, tried backends) is the SelectionPolicy's; the per-request
 * iteration is the Selection's.
 */
import { isSchedulable } from "../balancer/index.js";
import type { BalancerOptions, PickContext } from "../balancer/types.js";
import { type BackendRole, type BackendSpec, BackendState } from "./backend.js";
import { Lease, type LeaseOwner, type LeaseState, type Outcome } from "./lease.js";
import { PersistenceTable, type SharedBinding } from "./persistence.js";
import {
  type NoBackendReason,
  Selection,
  type SelectionSource,
  type SelectRequest,
} from "./selection.js";
import { SelectionPolicy } from "./selection-policy.js";
import { StickyTokens } from "./sticky-tokens.js";

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
  /** LVS persistence timeout (`ipvsadm -p`) in ms; 0 = off. */
  persistenceMs?: number;
  /** Cookie persistence (HAProxy `cookie ... insert`), read by the HTTP data plane. */
  sticky?: StickySettings;
  /** Where HTTP requests go when no backend can take them (a maintenance page). */
  sorryServer?: { host: string; port: number };
  /** Serve only backends a database check found in this role (`role: primary | replica`). */
  role?: BackendRole;
  /** A replica pool with no replica in service sends reads to the primary instead. */
  fallbackToPrimary?: boolean;
}

/** The sticky cookie's settings. */
export interface StickySettings {
  cookie: string;
  /** Cookie lifetime in ms; a session cookie when undefined. */
  maxAgeMs?: number;
  httpOnly: boolean;
  secure: boolean;
}

type ResolvedOptions = Required<
  Omit<PoolOptions, "clock" | "random" | "sticky" | "sorryServer" | "role">
> &
  Pick<PoolOptions, "sticky" | "sorryServer" | "role">;

/** Every option with its default, in one place for the constructor and reconfigure. */
function withDefaults(options: Omit<PoolOptions, "clock" | "random">): ResolvedOptions {
  return {
    algorithm: options.algorithm ?? "wrr",
    algorithmOptions: options.algorithmOptions ?? {},
    slowStartMs: options.slowStartMs ?? 0,
    panicThresholdPercent: options.panicThresholdPercent ?? 0,
    latencyDecayMs: options.latencyDecayMs ?? 10_000,
    hashKey: options.hashKey ?? "client_ip",
    persistenceMs: options.persistenceMs ?? 0,
    sticky: options.sticky,
    sorryServer: options.sorryServer,
    role: options.role,
    fallbackToPrimary: options.fallbackToPrimary ?? false,
  };
}

/** An empty tried list, shared. */
const NONE: readonly BackendState[] = [];

/** How often expired persistence bindings are swept out. */
const PERSISTENCE_SWEEP_MS = 5000;

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

/** A pool of backends; see the file's comment. */
export class Pool implements LeaseOwner, SelectionSource {
  readonly name: string;
  readonly clock: () => number;
  readonly random: () => number;
  private options: ResolvedOptions;
  private primaries: BackendState[] = [];
  private backups: BackendState[] = [];
  private readonly policy: SelectionPolicy;
  /** Reused for every pick so the hot path does not allocate. */
  private readonly context: PickContext;
  /** Backends by id: persistence and sticky lookups run once per connection or request. */
  private readonly byId = new Map<string, BackendState>();
  /** LVS persistence bindings, while `persistenceMs` > 0; they live across reloads. */
  private persistenceTable: PersistenceTable | undefined;
  private persistenceTimer: NodeJS.Timeout | undefined;
  private persistenceSweepMs = 0;
  /** With `workers: N`: where this pool's suspensions go for the other workers. */
  private suspensionAnnounce: ((id: string, forMs: number) => void) | undefined;
  /** With `workers: N`: where the persistence table's bindings go for the other workers. */
  private persistenceAnnounce: ((binding: SharedBinding) => void) | undefined;
  /** Sticky cookie tokens of the members. */
  private readonly stickyTokens = new StickyTokens();
  /** Backends to remove once their last connection ends. */
  private readonly removeWhenDrained = new Set<BackendState>();
  private readonly outcomeObservers: OutcomeObserver[] = [];
  private readonly observers: PoolObserver[] = [];
  private rampTimer: NodeJS.Timeout | undefined;

  constructor(name: string, backends: readonly BackendSpec[] = [], options: PoolOptions = {}) {
    this.name = name;
    this.clock = options.clock ?? (() => performance.now());
    this.random = options.random ?? Math.random;
    this.options = withDefaults(options);
    this.policy = new SelectionPolicy(this.options);
    this.context = { now: 0, random: this.random, key: undefined };
    for (const spec of backends) this.insert(new BackendState(spec));
    this.applyPersistence();
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

  /** True when the algorithm decides by a key, so a data plane computes one. */
  get usesKey(): boolean {
    return this.policy.keyed;
  }

  /** The sticky cookie's settings, when the pool has cookie persistence. */
  get sticky(): StickySettings | undefined {
    return this.options.sticky;
  }

  /** The sorry server, if configured. */
  get sorryServer(): { host: string; port: number } | undefined {
    return this.options.sorryServer;
  }

  /** The persistence table, while persistence is on. */
  get persistence(): PersistenceTable | undefined {
    return this.persistenceTable;
  }

  /** How many backends the pool has, backups included. */
  get size(): number {
    return this.primaries.length + this.backups.length;
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
   * Starts choosing backends for one request or connection: see Selection. Every data plane
   * goes through here (pins, persistence, retries that never repeat a backend).
   */
  select(request: SelectRequest = {}): Selection {
    return new Selection(this, request);
  }

  /**
   * Chooses a backend without taking it (a redirect names one; the library's simple use).
   * `exclude` is avoided whenever another backend can serve.
   */
  pick(key?: string, exclude?: BackendState): BackendState | undefined {
    const chosen = this.chooseUntried(key, exclude === undefined ? NONE : [exclude]);
    if (chosen !== undefined || exclude === undefined) return chosen;
    return isSchedulable(exclude) ? exclude : undefined;
  }

  /** Picks a backend and takes it for one connection or request; undefined when none. */
  acquire(key?: string, exclude?: BackendState): Lease | undefined {
    const backend = this.pick(key, exclude);
    return backend === undefined ? undefined : this.take(backend);
  }

  /** The member a sticky cookie's token names, or undefined. */
  stickyBackend(token: string): BackendState | undefined {
    return this.stickyTokens.backendOf(token, this.primaries, this.backups);
  }

  // ---- SelectionSource: what a Selection asks of its pool -------------------------------

  /**
   * A backend for `key` not among `tried`, chosen but not taken: what a Selection hands out
   * next, and what a DNS answer lists (an answer holds no connection).
   */
  chooseUntried(key: string | undefined, tried: readonly BackendState[]): BackendState | undefined {
    const context = this.context;
    context.now = this.clock();
    context.key = key;
    return this.policy.choose(context, tried);
  }

  /** @internal */
  reasonForNone(tried: readonly BackendState[]): NoBackendReason {
    if (this.size === 0) return "empty";
    let full = false;
    for (const list of [this.primaries, this.backups]) {
      for (const backend of list) {
        if (!backend.available || backend.weight <= 0) continue;
        if (tried.includes(backend)) continue;
        if (backend.overloaded) full = true;
        else return "down"; // in service, yet the algorithm would not choose it (sh without fallback)
      }
    }
    if (full) return "full";
    return tried.length > 0 ? "tried" : "down";
  }

  /** @internal */
  get persistent(): boolean {
    return this.persistenceTable !== undefined;
  }

  /** @internal */
  persistedBackend(client: string): BackendState | undefined {
    return this.persistenceTable?.lookup(client);
  }

  /** @internal */
  persist(client: string, backend: BackendState, rebind: boolean): void {
    if (rebind) this.persistenceTable?.rebind(client, backend);
    else this.persistenceTable?.attach(client, backend);
  }

  /** @internal */
  unpersist(client: string): void {
    this.persistenceTable?.detach(client);
  }

  /** Where this pool's persistence bindings are announced (`workers: N`; see persistence.ts). */
  sharePersistence(announce: ((binding: SharedBinding) => void) | undefined): void {
    this.persistenceAnnounce = announce;
    if (this.options.persistenceMs > 0) this.applyPersistence();
  }

  /** Bindings another worker announced, for members this pool has. */
  learnPersistence(bindings: readonly SharedBinding[]): void {
    const table = this.persistenceTable;
    if (table === undefined) return;
    for (const [client, id, since] of bindings) {
      const backend = this.byId.get(id);
      if (backend !== undefined) table.learn(client, backend, since);
    }
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

  /**
   * Sets the connections other processes hold on a backend (`workers: N`): they count in
   * `active`/`inactive` for the algorithms and overload, while this process's own leases
   * keep adding and releasing theirs. A backend drained for removal leaves once the total
   * reaches zero.
   */
  setSharedCounts(id: string, active: number, inactive: number): void {
    const backend = this.get(id);
    if (backend === undefined) return;
    backend.active += active - backend.sharedActive;
    backend.inactive += inactive - backend.sharedInactive;
    backend.sharedActive = active;
    backend.sharedInactive = inactive;
    if (backend.active > backend.peakActive) backend.peakActive = backend.active;
    if (backend.inactive > backend.peakInactive) backend.peakInactive = backend.inactive;
    if (backend.maxConnections > 0) this.checkOverload(backend);
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
    this.stickyTokens.membershipChanged();
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

  /**
   * Keeps a backend out of new picks until `until` (clock ms): nginx's fail_timeout. With
   * `workers: N` the other workers are told (`shareSuspensions`), as nginx's `zone` shares
   * its workers' failure state.
   */
  suspend(id: string, until: number): boolean {
    const backend = this.get(id);
    if (!backend) return false;
    backend.suspendedUntil = until;
    this.changed(backend);
    this.refresh();
    const forMs = until - this.clock();
    if (forMs > 0) this.suspensionAnnounce?.(id, forMs);
    return true;
  }

  /**
   * True when a backend other than `backend` can take work: passive detection never suspends
   * the last one that serves (nginx, too, tries its servers again once all have failed).
   */
  anotherServes(backend: BackendState): boolean {
    for (const other of this.primaries) {
      if (other !== backend && other.available && other.weight > 0) return true;
    }
    for (const other of this.backups) {
      if (other !== backend && other.available && other.weight > 0) return true;
    }
    return false;
  }

  /** Where this pool's suspensions are announced (`workers: N`). */
  shareSuspensions(announce: ((id: string, forMs: number) => void) | undefined): void {
    this.suspensionAnnounce = announce;
  }

  /**
   * Another worker suspended a backend for `forMs`: it is suspended here too, unless that
   * would leave no backend serving (the rule passive detection follows in each worker).
   */
  learnSuspension(id: string, forMs: number): void {
    const backend = this.get(id);
    if (!backend || !Number.isFinite(forMs) || forMs <= 0) return;
    if (!this.anotherServes(backend)) return;
    const until = this.clock() + forMs;
    if (until <= backend.suspendedUntil) return;
    backend.suspendedUntil = until;
    this.changed(backend);
    this.refresh();
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
    this.options = withDefaults(options);
    this.policy.configure(this.options);
    this.applyPersistence();
    for (const backend of this.backends) backend.wantedRole = this.options.role;
    this.refresh();
  }

  /** Stops the pool's timers. */
  close(): void {
    if (this.rampTimer) clearTimeout(this.rampTimer);
    this.rampTimer = undefined;
    if (this.persistenceTimer) clearInterval(this.persistenceTimer);
    this.persistenceTimer = undefined;
  }

  /** A snapshot for the admin API and `ballast ctl`. */
  toJSON(): Record<string, unknown> {
    return {
      name: this.name,
      algorithm: this.options.algorithm,
      backends: this.backends.map((b) => b.toJSON()),
    };
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
    if (backend.refreshOverload() && backend.available) {
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
    for (const backend of this.primaries) backend.refreshAvailable(now);
    for (const backend of this.backups) backend.refreshAvailable(now);
    if (this.options.fallbackToPrimary) this.fallBackToPrimary(now);
    this.policy.update(this.primaries, this.backups);
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
    this.stickyTokens.membershipChanged();
  }

  /** Makes or drops the persistence table and its sweep as `persistenceMs` says. */
  private applyPersistence(): void {
    if (this.options.persistenceMs <= 0) {
      // Bindings are kept until persistence is really gone (a reload may turn it back on).
      this.persistenceTable = undefined;
      if (this.persistenceTimer) clearInterval(this.persistenceTimer);
      this.persistenceTimer = undefined;
      return;
    }
    this.persistenceTable ??= new PersistenceTable(this);
    this.persistenceTable.onAnnounce = this.persistenceAnnounce;
    // With workers sharing bindings, often enough for the sweep's re-announcements (every half
    // timeout) to reach the others before their copies lapse, even with a timeout of seconds.
    const every =
      this.persistenceAnnounce === undefined
        ? PERSISTENCE_SWEEP_MS
        : Math.max(250, Math.min(PERSISTENCE_SWEEP_MS, this.options.persistenceMs / 4));
    if (this.persistenceTimer === undefined || this.persistenceSweepMs !== every) {
      if (this.persistenceTimer) clearInterval(this.persistenceTimer);
      this.persistenceSweepMs = every;
      this.persistenceTimer = setInterval(() => this.persistenceTable?.sweep(), every);
      this.persistenceTimer.unref();
    }
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
