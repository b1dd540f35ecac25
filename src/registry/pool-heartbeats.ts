/**
 * Pool heartbeat leases (`POST /api/pools/{pool}/heartbeats`, `ballast ctl register`) as
 * registry registrations: a backend that registers into pool P is an instance of the registry
 * service `pool:P`, and P is fed by that service. So heartbeats share the registry's leases
 * (prompt expiry, index, watches, `ballast ctl services`), and the API stays as it was.
 *
 * With a `registry:` section the node's registry holds them, in memory or in etcd (its TTL
 * bounds and self-preservation apply, and clients can watch `pool:P`); without one, a private
 * memory store does. Writes go through the storage's interface and are awaited: with etcd
 * they take a round trip, and one that etcd cannot take is refused ("unavailable", a 503) as
 * every other registry write is. The pool follows the storage's changes, never the call's
 * answer, so a registration made on another node sharing the etcd reaches this node's pool
 * too. Registered backends are ordinary pool members of source "registry".
 */
import {
  HeartbeatError,
  type HeartbeatLease,
  type HeartbeatRegistration,
} from "../health/heartbeat.js";
import type { Logger } from "../log.js";
import { type BackendSpec, formatHostPort } from "../pool/backend.js";
import type { PoolLookup } from "../pool/pool.js";
import type { InstanceView } from "./client/wire.js";
import { RegistryError, type RegistryStorage } from "./storage.js";
import { RegistryStore } from "./store.js";

/** The registry service that feeds pool `pool`. */
export function heartbeatService(pool: string): string {
  return `${SERVICE_PREFIX}${pool}`;
}

const SERVICE_PREFIX = "pool:";

/** The heartbeat leases of every pool, kept in a registry storage; see the file's comment. */
export class PoolHeartbeats {
  private readonly store: RegistryStorage;
  /** The private memory store, when the node has no registry. */
  private readonly ownStore: RegistryStore | undefined;
  private readonly off: () => void;

  constructor(
    private readonly pools: PoolLookup,
    options: { store?: RegistryStorage; logger?: Logger; clock?: () => number } = {},
  ) {
    if (options.store === undefined) {
      // The private store keeps the old bounds: any TTL from 1 ms to a day, no preservation.
      this.ownStore = new RegistryStore({
        minTtlMs: 1,
        maxTtlMs: 24 * 3_600_000,
        logger: options.logger,
        clock: options.clock,
      });
      this.store = this.ownStore;
    } else {
      this.ownStore = undefined;
      this.store = options.store;
    }
    this.off = this.store.onChange((service, id, instance) => {
      if (!service.startsWith(SERVICE_PREFIX)) return;
      const pool = service.slice(SERVICE_PREFIX.length);
      if (instance === undefined) this.leave(pool, id);
      else this.join(pool, instance);
    });
  }

  /**
   * Adds the backend to the pool (or renews its lease when it is already registered).
   * Throws HeartbeatError for a request this pool refuses, RegistryError ("full",
   * "unavailable") when the storage cannot take it.
   */
  async register(
    poolName: string,
    registration: HeartbeatRegistration,
  ): Promise<{ id: string; expiresAt: number }> {
    const pool = this.pools.get(poolName);
    if (pool === undefined) throw new HeartbeatError(`unknown pool "${poolName}"`, "not-found");
    const { host, port, weight, ttlMs, id } = registration;
    const wanted = id ?? formatHostPort(host, port);
    const existing = pool.get(wanted);
    if (existing !== undefined && existing.source !== "registry") {
      throw new HeartbeatError(
        `pool "${poolName}" already has a ${existing.source} backend "${wanted}"`,
        "conflict",
      );
    }
    let lease: { id: string; expiresAt: number };
    try {
      lease = await this.store.register(heartbeatService(poolName), {
        host,
        port,
        weight,
        ttlMs,
        id: wanted,
      });
    } catch (error) {
      if (error instanceof RegistryError && error.kind === "invalid") {
        throw new HeartbeatError(error.message, "invalid");
      }
      throw error;
    }
    // A re-registration that changes nothing a watcher sees is no change in the store;
    // the pool may still hold the backend draining after an expiry: it comes back. (Asked
    // again: a reload may have replaced the pool during the storage's round trip.)
    const now = this.pools.get(poolName);
    if (now?.get(lease.id)?.draining) now.setEnabled(lease.id, true);
    return { id: lease.id, expiresAt: lease.expiresAt };
  }

  /**
   * Extends a live lease by its TTL; the new expiry, or undefined when there is none
   * (expired or never registered). Throws RegistryError when the storage cannot take it.
   */
  async renew(poolName: string, id: string): Promise<number | undefined> {
    const service = heartbeatService(poolName);
    const inView = this.store.leases(service).some((l) => l.id === id);
    if (inView && this.pools.get(poolName)?.get(id)?.source !== "registry") {
      // The storage holds it but this pool does not: removed through the admin API, or its
      // pool rebuilt by a reload. Renewing would keep a lease that serves nothing; a refusal
      // makes the instance register again. (Not in the view at all: with etcd this node's
      // view may lag a registration made on another node, and the storage asks etcd.)
      await this.store.deregister(service, id);
      return undefined;
    }
    return this.store.renew(service, id);
  }

  /** Ends a lease at the backend's request; it drains (in-flight work finishes), then leaves. */
  async deregister(poolName: string, id: string): Promise<boolean> {
    return this.store.deregister(heartbeatService(poolName), id);
  }

  /** Live leases, of one pool or of all. */
  list(poolName?: string): HeartbeatLease[] {
    const pools =
      poolName !== undefined
        ? [poolName]
        : this.store
            .list()
            .map((s) => s.service)
            .filter((s) => s.startsWith(SERVICE_PREFIX))
            .map((s) => s.slice(SERVICE_PREFIX.length));
    return pools.flatMap((pool) =>
      this.store.leases(heartbeatService(pool)).map((l) => ({
        pool,
        id: l.id,
        host: l.host,
        port: l.port,
        weight: l.weight,
        ttlMs: l.ttlMs,
        registeredAt: l.registeredAt,
        renewedAt: l.expiresAt - l.ttlMs,
        expiresAt: l.expiresAt,
        renewals: l.renewals,
      })),
    );
  }

  /**
   * Collects expired leases now and returns how many left (the store also does, on time).
   * Memory stores only: etcd ends its leases itself, so there this collects nothing.
   */
  sweep(): number {
    if (!(this.store instanceof RegistryStore)) return 0;
    const store = this.store;
    let collected = 0;
    const off = store.onChange((service, _id, instance) => {
      if (instance === undefined && service.startsWith(SERVICE_PREFIX)) collected++;
    });
    try {
      store.sweep();
    } finally {
      off();
    }
    return collected;
  }

  /** Stops feeding pools (and the private store's timer); registered backends stay. */
  stop(): void {
    this.off();
    this.ownStore?.close();
  }

  private join(poolName: string, instance: InstanceView): void {
    const pool = this.pools.get(poolName);
    if (pool === undefined) return;
    const spec: BackendSpec = {
      id: instance.id,
      host: instance.host,
      port: instance.port,
      weight: instance.weight,
      source: "registry",
    };
    const existing = pool.get(instance.id);
    if (existing !== undefined && existing.source !== "registry") return;
    if (existing !== undefined && (existing.host !== spec.host || existing.port !== spec.port)) {
      // Same name, new address: the instance moved. The old one leaves at once.
      pool.remove(existing.id);
    } else if (existing !== undefined) {
      if (existing.draining) pool.setEnabled(existing.id, true);
      if (existing.configuredWeight !== spec.weight) pool.setWeight(existing.id, spec.weight ?? 1);
      return;
    }
    pool.add(spec);
  }

  private leave(poolName: string, id: string): void {
    const pool = this.pools.get(poolName);
    // Drain rather than cut: if the instance is alive but late, its in-flight work finishes.
    if (pool?.get(id)?.source === "registry") pool.drain(id, { remove: true });
  }
}
