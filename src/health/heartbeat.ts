/**
 * Heartbeat leases: a backend registers itself with a TTL and renews the lease before it
 * runs out; a lease not renewed in time takes the backend out of its pool. Registered
 * backends are ordinary pool members (source "registry"), so checks, passive detection and
 * the admin API see them like configured ones.
 *
 * This is the standalone form, for a library user with pools and no registry. A running
 * ballast keeps its pools' heartbeats in the registry instead (registry/pool-heartbeats.ts:
 * the service `pool:POOL`), with the same API and the same behaviour.
 */
import type { Logger } from "../log.js";
import { formatHostPort } from "../pool/backend.js";
import type { PoolLookup } from "../pool/pool.js";

/** What a backend says when it registers. */
export interface HeartbeatRegistration {
  host: string;
  port: number;
  weight?: number;
  /** The lease lasts this long after each register or renew. */
  ttlMs: number;
  /** Defaults to "host:port". */
  id?: string;
}

/** A live lease, as the admin API lists it. */
export interface HeartbeatLease {
  pool: string;
  id: string;
  host: string;
  port: number;
  weight: number;
  ttlMs: number;
  /** Times on the leases' clock (wall-clock ms by default). */
  registeredAt: number;
  renewedAt: number;
  expiresAt: number;
  renewals: number;
}

/** Injection points. */
export interface HeartbeatOptions {
  /** The clock for lease times; Date.now by default, so expiresAt means something to clients. */
  clock?: () => number;
  /** How often expired leases are collected, in real ms (1000 by default). */
  sweepIntervalMs?: number;
  /** Shortest and longest TTL accepted. */
  minTtlMs?: number;
  maxTtlMs?: number;
  logger?: Logger;
}

/** A registration that cannot be accepted; the message says why (the admin API answers 4xx). */
export class HeartbeatError extends Error {
  constructor(
    message: string,
    /** "not-found" for an unknown pool, "conflict" for an id held by a configured backend. */
    readonly kind: "invalid" | "not-found" | "conflict",
  ) {
    super(message);
    this.name = "HeartbeatError";
  }
}

/** The leases of every pool, collected by one timer. */
export class HeartbeatLeases {
  private readonly leases = new Map<string, HeartbeatLease>();
  private readonly clock: () => number;
  private readonly sweepIntervalMs: number;
  private readonly minTtlMs: number;
  private readonly maxTtlMs: number;
  private timer: NodeJS.Timeout | undefined;

  constructor(
    private readonly pools: PoolLookup,
    private readonly options: HeartbeatOptions = {},
  ) {
    this.clock = options.clock ?? Date.now;
    this.sweepIntervalMs = options.sweepIntervalMs ?? 1000;
    this.minTtlMs = options.minTtlMs ?? 1;
    this.maxTtlMs = options.maxTtlMs ?? 24 * 3_600_000;
  }

  /** Adds the backend to the pool (or renews its lease when it is already registered). */
  register(
    poolName: string,
    registration: HeartbeatRegistration,
  ): { id: string; expiresAt: number } {
    const pool = this.pools.get(poolName);
    if (pool === undefined) throw new HeartbeatError(`unknown pool "${poolName}"`, "not-found");
    const { host, port, ttlMs } = registration;
    if (!Number.isFinite(ttlMs) || ttlMs < this.minTtlMs || ttlMs > this.maxTtlMs) {
      throw new HeartbeatError(
        `ttl must be between ${this.minTtlMs} and ${this.maxTtlMs} ms, got ${ttlMs}`,
        "invalid",
      );
    }
    if (
      typeof host !== "string" ||
      host === "" ||
      !Number.isInteger(port) ||
      port < 1 ||
      port > 65535
    ) {
      throw new HeartbeatError(
        "a registration needs a host and a port between 1 and 65535",
        "invalid",
      );
    }
    const weight = registration.weight ?? 1;
    const id = registration.id ?? formatHostPort(host, port);
    const key = leaseKey(poolName, id);
    const existing = pool.get(id);
    const held = this.leases.get(key);
    if (existing !== undefined && existing.source !== "registry") {
      throw new HeartbeatError(
        `pool "${poolName}" already has a ${existing.source} backend "${id}"`,
        "conflict",
      );
    }
    if (existing !== undefined && (existing.host !== host || existing.port !== port)) {
      // Same name, new address: the instance moved. The old one leaves at once.
      pool.remove(id);
    } else if (existing !== undefined) {
      // Still draining after an expiry, or reweighted: it stays, as registered now.
      if (existing.draining) pool.setEnabled(id, true);
      if (existing.configuredWeight !== weight) pool.setWeight(id, weight);
    }
    if (pool.get(id) === undefined) {
      pool.add({ id, host, port, weight, source: "registry" });
    }
    const now = this.clock();
    const lease: HeartbeatLease = {
      pool: poolName,
      id,
      host,
      port,
      weight,
      ttlMs,
      registeredAt: held?.registeredAt ?? now,
      renewedAt: now,
      expiresAt: now + ttlMs,
      renewals: held ? held.renewals + 1 : 0,
    };
    this.leases.set(key, lease);
    if (!held)
      this.options.logger?.info({ pool: poolName, backend: id, ttlMs }, "backend registered");
    this.startTimer();
    return { id, expiresAt: lease.expiresAt };
  }

  /** Extends a live lease by its TTL; false when there is none (expired or never registered). */
  renew(poolName: string, id: string): boolean {
    const lease = this.leases.get(leaseKey(poolName, id));
    if (lease === undefined) return false;
    const now = this.clock();
    if (lease.expiresAt <= now) {
      // Expired but not yet collected: the backend must register again, as after a collection.
      this.expire(lease);
      return false;
    }
    if (this.pools.get(poolName)?.get(id)?.source !== "registry") {
      // Removed through the admin API, or its pool rebuilt by a reload: renewing would keep
      // a lease that serves nothing; a refusal makes the instance register again.
      this.leases.delete(leaseKey(poolName, id));
      return false;
    }
    lease.renewedAt = now;
    lease.expiresAt = now + lease.ttlMs;
    lease.renewals++;
    return true;
  }

  /** The lease's expiry time, or undefined when there is no live lease. */
  expiresAt(poolName: string, id: string): number | undefined {
    return this.leases.get(leaseKey(poolName, id))?.expiresAt;
  }

  /** Ends a lease at the backend's request; it drains (in-flight work finishes), then leaves. */
  deregister(poolName: string, id: string): boolean {
    const key = leaseKey(poolName, id);
    const lease = this.leases.get(key);
    if (lease === undefined) return false;
    this.leases.delete(key);
    this.pools.get(poolName)?.drain(id, { remove: true });
    this.options.logger?.info({ pool: poolName, backend: id }, "backend deregistered");
    return true;
  }

  /** Live leases, of one pool or of all. */
  list(poolName?: string): HeartbeatLease[] {
    const leases: HeartbeatLease[] = [];
    for (const lease of this.leases.values()) {
      if (poolName === undefined || lease.pool === poolName) leases.push({ ...lease });
    }
    return leases;
  }

  /** Collects every expired lease now; returns how many were collected. Runs on a timer too. */
  sweep(): number {
    const now = this.clock();
    let expired = 0;
    for (const lease of [...this.leases.values()]) {
      if (lease.expiresAt <= now) {
        this.expire(lease);
        expired++;
      }
    }
    if (this.leases.size === 0) this.stopTimer();
    return expired;
  }

  /** Stops the collection timer; registered backends stay in their pools. */
  stop(): void {
    this.stopTimer();
  }

  private expire(lease: HeartbeatLease): void {
    this.leases.delete(leaseKey(lease.pool, lease.id));
    const pool = this.pools.get(lease.pool);
    const backend = pool?.get(lease.id);
    // Drain rather than cut: if the instance is alive but late, its in-flight work finishes.
    if (pool && backend?.source === "registry") pool.drain(lease.id, { remove: true });
    this.options.logger?.warn(
      { pool: lease.pool, backend: lease.id, ttlMs: lease.ttlMs },
      "lease expired: backend removed",
    );
  }

  private startTimer(): void {
    if (this.timer !== undefined) return;
    this.timer = setInterval(() => this.sweep(), this.sweepIntervalMs);
    // The listeners and the admin API keep the process alive; a lease timer alone need not.
    this.timer.unref();
  }

  private stopTimer(): void {
    if (this.timer !== undefined) clearInterval(this.timer);
    this.timer = undefined;
  }
}

function leaseKey(pool: string, id: string): string {
  return `${pool}\u0000${id}`;
}
