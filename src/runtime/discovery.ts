/**
 * Pools fed by the registry (`discovery: { service, zone }`): the pool follows the service's
 * instances as they register, change and leave, with no reload. Instances of the pool's zone
 * are primaries and the others backups, so traffic stays in the zone while it can. Such
 * backends have source "discovery": reloads, heartbeat leases and the admin API leave them be.
 */
import type { PoolConfig } from "../config/schema/index.js";
import type { Logger } from "../log.js";
import type { BackendSpec } from "../pool/backend.js";
import type { Pool } from "../pool/pool.js";
import type { InstanceView } from "../registry/client/wire.js";
import type { Registry } from "../registry/registry.js";

interface Feed {
  pool: Pool;
  service: string;
  zone: string | undefined;
  off: () => void;
}

/** The discovery subscriptions of every pool that has one. */
export class DiscoveryFeeds {
  private readonly feeds = new Map<string, Feed>();

  constructor(
    private readonly registry: Registry | undefined,
    private readonly logger: Logger,
  ) {}

  /** Subscribes, re-subscribes or unsubscribes pools so they match `configs`. */
  sync(pools: ReadonlyMap<string, Pool>, configs: Record<string, PoolConfig>): void {
    for (const [name, feed] of [...this.feeds]) {
      const wanted = Object.hasOwn(configs, name) ? configs[name].discovery : undefined;
      const pool = pools.get(name);
      if (wanted?.service === feed.service && wanted.zone === feed.zone && pool === feed.pool)
        continue;
      feed.off();
      this.feeds.delete(name);
      if (pool === feed.pool) leaveAll(feed.pool, new Set());
    }
    const registry = this.registry;
    if (registry === undefined) return;
    for (const [name, config] of Object.entries(configs)) {
      const discovery = config.discovery;
      const pool = pools.get(name);
      if (discovery === undefined || pool === undefined || this.feeds.has(name)) continue;
      const { service, zone } = discovery;
      const off = registry.store.onChange((changed, id, instance) => {
        if (changed !== service) return;
        if (instance === undefined) leave(pool, id);
        else this.join(pool, instance, zone);
      });
      this.feeds.set(name, { pool, service, zone, off });
      const snapshot = registry.store.snapshot(service);
      for (const instance of snapshot.instances) this.join(pool, instance, zone);
      leaveAll(pool, new Set(snapshot.instances.map((i) => i.id)));
      this.logger.info(
        { pool: name, service, zone, instances: snapshot.instances.length },
        "pool follows a registry service",
      );
    }
  }

  /** Ends every subscription; discovered backends stay in their pools. */
  close(): void {
    for (const feed of this.feeds.values()) feed.off();
    this.feeds.clear();
  }

  private join(pool: Pool, instance: InstanceView, zone: string | undefined): void {
    const spec: BackendSpec = {
      id: instance.id,
      host: instance.host,
      port: instance.port,
      weight: instance.weight,
      backup: zone !== undefined && instance.zone !== zone,
      source: "discovery",
    };
    const existing = pool.get(instance.id);
    if (existing !== undefined && existing.source !== "discovery") {
      this.logger.warn(
        { pool: pool.name, backend: instance.id, source: existing.source },
        "registry instance ignored: the pool has a backend of that id",
      );
      return;
    }
    if (
      existing !== undefined &&
      (existing.host !== spec.host ||
        existing.port !== spec.port ||
        existing.backup !== spec.backup)
    ) {
      pool.remove(existing.id);
    } else if (existing !== undefined) {
      if (existing.draining) pool.setEnabled(existing.id, true);
      if (existing.configuredWeight !== spec.weight) pool.setWeight(existing.id, spec.weight ?? 1);
      return;
    }
    pool.add(spec);
  }
}

/** A discovered backend leaves: in-flight work finishes, then it goes. */
function leave(pool: Pool, id: string): void {
  if (pool.get(id)?.source === "discovery") pool.drain(id, { remove: true });
}

/** Every discovered backend not in `keep` leaves. */
function leaveAll(pool: Pool, keep: Set<string>): void {
  for (const backend of [...pool.backends]) {
    if (backend.source === "discovery" && !keep.has(backend.id)) leave(pool, backend.id);
  }
}
