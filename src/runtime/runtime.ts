/** Turns a validated config into live pools and listeners, applies new configs, and stops them. */

import type { CacheZone } from "../cache/zone.js";
import type { Config, ListenerConfig, PoolConfig } from "../config/schema/index.js";
import type { BackendHealthView } from "../health/index.js";
import { type Logger, silentLogger } from "../log.js";
import type { Listener, ListenerContext, ListenerFactory } from "../net/listener.js";
import type { Pool, PoolEvent } from "../pool/pool.js";
import { PoolHeartbeats } from "../registry/pool-heartbeats.js";
import { Registry } from "../registry/registry.js";
import { syncCacheZones } from "./cache-zones.js";
import type { ReloadOrigin } from "./cluster-protocol.js";
import { type ConfigDiff, diffConfigs, isEmptyDiff, summarizeDiff } from "./diff.js";
import { DiscoveryFeeds } from "./discovery.js";
import { listenerFactories } from "./listener-factories.js";
import { applyBackendDiff, drainAndClosePool, restoreMembership } from "./pool-changes.js";
import { attachPoolHealth, type PoolHealth } from "./pool-health.js";
import { createPoolFromConfig, poolOptionsFromConfig } from "./pools.js";

export interface RuntimeOptions {
  logger?: Logger;
  /** Where the config came from; `reloadFromFile` and SIGHUP read it again. */
  configFile?: string;
  /** How long a replaced or removed listener may take to finish its work (ms). */
  drainTimeoutMs?: number;
  /** This runtime's part in `workers: N`; a runtime on its own when undefined. */
  cluster?: ClusterPart;
}

/**
 * The primary of `workers: N` owns the control state: its listeners only show the workers'
 * (`listener`), and each reload it applies goes on to the workers (`reloadWorkers`, which
 * resolves with what they could not apply). A worker serves: it runs no active checks, no
 * dynamic weights and no registry, and takes those verdicts from the primary.
 */
export type ClusterPart =
  | {
      role: "primary";
      listener: ListenerFactory;
      reloadWorkers(origin: ReloadOrigin | undefined): Promise<string[]>;
    }
  | { role: "worker" };

/** What a reload did, for logs, the admin API and `ballast ctl reload`. */
export interface ReloadResult {
  changed: boolean;
  summary: Record<string, unknown>;
  /** Parts of the new config that take effect only after a restart. */
  notApplied: string[];
}

/** Hears about every pool event of every pool, including pools added by a reload. */
export type RuntimeObserver = (event: PoolEvent) => void;

/** The running balancer: its config, pools, listeners and their health machinery. */
export class Runtime {
  readonly pools = new Map<string, Pool>();
  readonly listeners = new Map<string, Listener>();
  /** HTTP cache zones by name (the `caches` section). */
  readonly caches = new Map<string, CacheZone>();
  readonly logger: Logger;
  readonly configFile: string | undefined;
  /**
   * Backends that registered themselves through the admin API, with their leases: registry
   * registrations of the service `pool:POOL` (in the node's registry when it has one).
   */
  readonly heartbeats: PoolHeartbeats;
  /** The service registry, when the config has a `registry:` section (fixed until a restart). */
  readonly registry: Registry | undefined;
  config: Config;
  /** When the running config was applied (ms since the epoch). */
  configLoadedAt = Date.now();
  /** How many reloads changed something since the start. */
  reloads = 0;
  private readonly health = new Map<string, PoolHealth>();
  /** Timers of drains with a cap, cleared at stop. */
  private readonly drainCaps = new Set<NodeJS.Timeout>();
  /** Pools that follow a registry service. */
  private readonly discovery: DiscoveryFeeds;
  private readonly unsubscribe = new Map<string, () => void>();
  private readonly observers: RuntimeObserver[] = [];
  private readonly context: ListenerContext;
  private readonly drainTimeoutMs: number;
  /** Reloads run one after the other; this is the tail of the queue. */
  private reloading: Promise<unknown> = Promise.resolve();
  private started = false;
  private readonly cluster: ClusterPart | undefined;

  constructor(config: Config, options: RuntimeOptions = {}) {
    this.config = config;
    this.logger = options.logger ?? silentLogger;
    this.configFile = options.configFile;
    this.drainTimeoutMs = options.drainTimeoutMs ?? 30_000;
    this.cluster = options.cluster;
    this.registry =
      config.registry === undefined || this.cluster?.role === "worker"
        ? undefined
        : new Registry(config.registry, this.logger);
    this.heartbeats = new PoolHeartbeats(this.pools, {
      store: this.registry?.store,
      logger: this.logger,
    });
    this.context = {
      pools: this.pools,
      logger: this.logger,
      caches: this.caches,
    };
    syncCacheZones(this.caches, config, this.logger);
    for (const [name, pool] of Object.entries(config.pools)) {
      this.addPool(name, createPoolFromConfig(name, pool));
    }
    this.discovery = new DiscoveryFeeds(this.registry, this.logger);
    this.discovery.sync(this.pools, config.pools);
    for (const listener of config.listeners) {
      this.listeners.set(listener.name, this.createListener(listener));
    }
  }

  /** Starts every listener and the health machinery; on a bind failure the others stop again. */
  async start(): Promise<void> {
    // The registry loads first (etcd: every instance), so discovery pools are full before
    // the first request.
    await this.registry?.start();
    const started: Listener[] = [];
    // Checks start first, so an `initial_state` is in force before the first request or
    // DNS query can arrive.
    for (const [name, pool] of this.pools) this.startHealth(name, pool, this.config.pools[name]);
    try {
      for (const listener of this.listeners.values()) {
        await listener.start();
        started.push(listener);
        this.logListening(listener);
      }
    } catch (error) {
      await Promise.all(started.map((listener) => listener.stop({ graceful: false })));
      for (const health of this.health.values()) health.stop();
      this.health.clear();
      throw error;
    }
    this.started = true;
  }

  /**
   * Drains a backend: no new work, open connections may finish. With `capMs`, those still
   * open when it runs out are closed (a replica taken out for maintenance must not wait on a
   * client's pooled connection forever). Enabling the backend first cancels the cap.
   */
  drainBackend(poolName: string, id: string, capMs?: number): boolean {
    const pool = this.pools.get(poolName);
    if (pool === undefined || !pool.drain(id)) return false;
    if (capMs === undefined) return true;
    const backend = pool.get(id);
    const timer = setTimeout(() => {
      this.drainCaps.delete(timer);
      if (backend === undefined || pool.get(id) !== backend || !backend.draining) return;
      let closed = 0;
      for (const listener of this.listeners.values()) {
        closed += listener.closeConnectionsTo?.(poolName, id) ?? 0;
      }
      const fields = { pool: poolName, backend: id, capMs, closed };
      this.logger.warn(fields, "drain cap reached: connections still open were closed");
    }, capMs);
    timer.unref();
    this.drainCaps.add(timer);
    return true;
  }

  /** The active checks' view of a pool's backends (empty without `health_check`). */
  healthChecks(pool: string): BackendHealthView[] {
    return this.health.get(pool)?.checks() ?? [];
  }

  /** Subscribes to health, membership and admin events of every pool, present and future. */
  onPoolEvent(observer: RuntimeObserver): () => void {
    this.observers.push(observer);
    return () => {
      const index = this.observers.indexOf(observer);
      if (index >= 0) this.observers.splice(index, 1);
    };
  }

  /**
   * Applies a new, already validated config. Pools and listeners change in place where they
   * can; backends that stay keep their health and counters; removed backends drain first.
   * A listener that cannot bind makes the whole reload fail before anything else changes.
   * `origin` (the file or text it came from) lets the workers of `workers: N` read it too.
   */
  reload(next: Config, origin?: ReloadOrigin): Promise<ReloadResult> {
    const run = this.reloading.then(async () => {
      const result = await this.applyConfig(next);
      if (this.cluster?.role === "primary") {
        result.notApplied.push(...(await this.cluster.reloadWorkers(origin)));
      }
      return result;
    });
    this.reloading = run.catch(() => undefined);
    return run;
  }

  /** Stops listeners (gracefully by default), health machinery and the pools' timers. */
  async stop(options: { graceful?: boolean; timeoutMs?: number } = {}): Promise<void> {
    await this.reloading;
    this.heartbeats.stop();
    for (const timer of this.drainCaps) clearTimeout(timer);
    this.drainCaps.clear();
    this.discovery.close();
    await this.registry?.close();
    for (const health of this.health.values()) health.stop();
    this.health.clear();
    await Promise.all([...this.listeners.values()].map((listener) => listener.stop(options)));
    for (const pool of this.pools.values()) pool.close();
    for (const off of this.unsubscribe.values()) off();
    this.unsubscribe.clear();
    this.started = false;
  }

  private async applyConfig(next: Config): Promise<ReloadResult> {
    const previous = this.config;
    const diff = diffConfigs(previous, next);
    const notApplied: string[] = [];
    if (diff.adminChanged) notApplied.push("admin (restart to apply)");
    if (next.workers !== previous.workers) notApplied.push("workers (restart to apply)");
    if (JSON.stringify(next.registry) !== JSON.stringify(previous.registry)) {
      notApplied.push("registry (restart to apply)");
    }

    // Prepare: new pools, and listeners on new addresses. Nothing running has changed yet,
    // so a listener that cannot bind refuses the whole reload.
    for (const name of diff.pools.added) {
      const pool = createPoolFromConfig(name, next.pools[name]);
      this.addPool(name, pool);
      if (this.started) this.startHealth(name, pool, next.pools[name]);
    }
    syncCacheZones(this.caches, next, this.logger);
    let prepared: PreparedListeners;
    try {
      prepared = await this.prepareListeners(diff);
    } catch (error) {
      for (const name of diff.pools.added) this.dropPool(name);
      throw error;
    }

    // Commit: pools in place, then listeners, then what left the config.
    for (const change of diff.pools.changed) {
      const pool = this.pools.get(change.name);
      if (pool === undefined) continue;
      if (change.settingsChanged) pool.reconfigure(poolOptionsFromConfig(change.config));
      applyBackendDiff(pool, change.backends);
      this.health.get(change.name)?.update(change.config);
    }
    const restored: string[] = [];
    for (const [name, config] of Object.entries(next.pools)) {
      const pool = this.pools.get(name);
      if (pool === undefined) continue;
      for (const id of restoreMembership(pool, config.backends)) restored.push(`${name}/${id}`);
    }
    for (const config of diff.listeners.updated) this.listeners.get(config.name)?.update(config);
    const stopping = await this.commitListeners(prepared, previous, notApplied);
    for (const name of diff.listeners.removed) {
      const listener = this.listeners.get(name);
      if (listener === undefined) continue;
      this.listeners.delete(name);
      stopping.push(this.stopQuietly(listener));
    }
    // Removed pools leave the lookup only now, when no listener of the new config names them.
    for (const name of diff.pools.removed) {
      const pool = this.pools.get(name);
      if (pool === undefined) continue;
      this.detachPool(name);
      drainAndClosePool(pool);
    }
    this.discovery.sync(this.pools, next.pools);
    this.config = next;
    const summary = { ...summarizeDiff(diff), backendsRestored: restored };
    const changed = !isEmptyDiff(diff) || restored.length > 0;
    if (changed) {
      this.configLoadedAt = Date.now();
      this.reloads++;
      this.logger.info({ ...summary, notApplied }, "config reloaded");
    } else {
      this.logger.info({ notApplied }, "config reloaded: nothing changed");
    }
    // Old listeners finish their in-flight work in the background; the reload is done.
    void Promise.all(stopping);
    return { changed, summary, notApplied };
  }

  /**
   * Starts listeners that are new by name, and replacements whose address is new, so they
   * accept before the old ones stop. A replacement that finds its address held by the very
   * listener it replaces (same port, another spelling of the host) is handed over later.
   */
  private async prepareListeners(diff: ConfigDiff): Promise<PreparedListeners> {
    const prepared: PreparedListeners = { started: new Map(), handOver: [] };
    try {
      for (const config of diff.listeners.added) {
        const listener = this.createListener(config);
        await listener.start();
        prepared.started.set(config.name, listener);
      }
      for (const config of diff.listeners.replaced) {
        const old = this.listeners.get(config.name);
        const sharesPort = old !== undefined && samePort(old, config);
        if (sharesPort && sameAddress(old, config)) {
          prepared.handOver.push(config);
          continue;
        }
        const listener = this.createListener(config);
        try {
          await listener.start();
          prepared.started.set(config.name, listener);
        } catch (error) {
          if (!sharesPort || (error as NodeJS.ErrnoException).code !== "EADDRINUSE") throw error;
          prepared.handOver.push(config);
        }
      }
    } catch (error) {
      await Promise.all(
        [...prepared.started.values()].map((listener) => listener.stop({ graceful: false })),
      );
      throw error;
    }
    return prepared;
  }

  /**
   * Puts prepared listeners in place and stops the ones they replace. A hand-over of the
   * same address stops the old listener accepting first, then binds the new one; if that
   * fails, a listener with the old settings takes the address back.
   */
  private async commitListeners(
    prepared: PreparedListeners,
    previous: Config,
    notApplied: string[],
  ): Promise<Promise<void>[]> {
    const stopping: Promise<void>[] = [];
    for (const [name, listener] of prepared.started) {
      const old = this.listeners.get(name);
      this.listeners.set(name, listener);
      this.logListening(listener);
      if (old !== undefined) stopping.push(this.stopQuietly(old));
    }
    for (const config of prepared.handOver) {
      const old = this.listeners.get(config.name);
      if (old !== undefined) stopping.push(this.stopQuietly(old));
      let listener = this.createListener(config);
      try {
        await startWithRetry(listener);
      } catch (error) {
        const before = previous.listeners.find((l) => l.name === config.name);
        this.logger.error(
          { listener: config.name, err: error },
          "new listener could not bind; keeping the old settings",
        );
        notApplied.push(`listener ${config.name}: ${(error as Error).message}`);
        if (before === undefined) {
          this.listeners.delete(config.name);
          continue;
        }
        listener = this.createListener(before);
        await startWithRetry(listener);
      }
      this.listeners.set(config.name, listener);
      this.logListening(listener);
    }
    return stopping;
  }

  private createListener(config: ListenerConfig): Listener {
    if (this.cluster?.role === "primary") return this.cluster.listener(config, this.context);
    return listenerFactories[config.protocol](config, this.context);
  }

  private stopQuietly(listener: Listener): Promise<void> {
    return listener.stop({ graceful: true, timeoutMs: this.drainTimeoutMs }).catch((error) => {
      this.logger.warn({ listener: listener.name, err: error }, "listener stop failed");
    });
  }

  private logListening(listener: Listener): void {
    // The primary of `workers: N` binds nothing itself; each worker says where it listens.
    if (this.cluster?.role === "primary") return;
    const { host, port } = listener.address();
    this.logger.info(
      { listener: listener.name, protocol: listener.protocol, host, port },
      "listening",
    );
  }

  private addPool(name: string, pool: Pool): void {
    this.pools.set(name, pool);
    this.unsubscribe.set(
      name,
      pool.onEvent((event) => {
        for (const observer of this.observers) observer(event);
      }),
    );
  }

  private startHealth(name: string, pool: Pool, config: PoolConfig | undefined): void {
    if (config === undefined || this.health.has(name)) return;
    const logger = this.logger.child({ pool: name });
    const passiveOnly = this.cluster?.role === "worker";
    this.health.set(name, attachPoolHealth(pool, config, logger, { passiveOnly }));
  }

  private detachPool(name: string): void {
    this.health.get(name)?.stop();
    this.health.delete(name);
    this.unsubscribe.get(name)?.();
    this.unsubscribe.delete(name);
    this.pools.delete(name);
  }

  private dropPool(name: string): void {
    const pool = this.pools.get(name);
    this.detachPool(name);
    pool?.close();
  }
}

/** Listeners bound by the prepare phase, and replacements that must take over an address. */
interface PreparedListeners {
  started: Map<string, Listener>;
  handOver: ListenerConfig[];
}

/** True when the running listener holds the port the new config asks for. */
function samePort(listener: Listener, config: ListenerConfig): boolean {
  return config.bind.port !== 0 && listener.address().port === config.bind.port;
}

/** True when the running listener is bound exactly where the new config wants it. */
function sameAddress(listener: Listener, config: ListenerConfig): boolean {
  const { host, port } = listener.address();
  return config.bind.port !== 0 && host === config.bind.host && port === config.bind.port;
}

/** Binds, retrying briefly while the old listener releases the same address. */
async function startWithRetry(listener: Listener, attempts = 20): Promise<void> {
  for (let i = 1; ; i++) {
    try {
      await listener.start();
      return;
    } catch (error) {
      const code = (error as NodeJS.ErrnoException).code;
      if (code !== "EADDRINUSE" || i >= attempts) throw error;
      await new Promise((resolve) => setTimeout(resolve, 50));
    }
  }
}
