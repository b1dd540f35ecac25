/**
 * The registry's in-memory store: services with instances held by leases (Eureka's renew and
 * expire, etcd's lease TTL). A lease that runs out takes its instance out at once, unless
 * self-preservation judges that too many went at once: then they stay, marked expired, and
 * the service says it is preserving (a partition between the instances and the registry
 * should not empty every client's list). Every change bumps an index, Consul-style, and is
 * reported to the change listeners (the watch hub, discovery pools).
 */
import type { Logger } from "../log.js";
import type { InstanceView, ServiceSnapshot } from "./client/wire.js";
import { checkRegistration, sameInstance } from "./registration.js";
import {
  instanceView,
  isPreserving,
  leaseViews,
  serviceSnapshot,
  serviceSummaries,
} from "./service-views.js";
import {
  type ChangeListener,
  type InstanceRegistration,
  type LeaseGranted,
  type LeaseView,
  RegistryError,
  type RegistryStorage,
  type SelfPreservation,
  type ServiceSummary,
} from "./storage.js";

export {
  type ChangeListener,
  type InstanceRegistration,
  RegistryError,
  type SelfPreservation,
} from "./storage.js";

/** Limits and injection points; every one has a default. */
export interface RegistryOptions {
  /** Wall clock in ms (expiresAt is sent to clients); Date.now by default. */
  clock?: () => number;
  minTtlMs?: number;
  maxTtlMs?: number;
  /** Most instances over all services: a bound on what registrations can allocate. */
  maxInstances?: number;
  /** Off when undefined. */
  selfPreservation?: SelfPreservation;
  logger?: Logger;
}

interface Instance extends InstanceView {
  ttlMs: number;
  registeredAt: number;
  renewedAt: number;
  renewals: number;
  /** When self-preservation kept it after its lease ran out. */
  keptSince: number;
}

interface Service {
  name: string;
  index: number;
  instances: Map<string, Instance>;
  /** When recent expiries happened, within the self-preservation window. */
  expiries: number[];
}

/** The expiry timer never fires more often than this (ms). */
const SWEEP_FLOOR_MS = 25;

/** The in-memory registry; see the file's comment. */
export class RegistryStore implements RegistryStorage {
  /** Grows with every change of any service. */
  index = 0;
  private readonly services = new Map<string, Service>();
  private readonly listeners: ChangeListener[] = [];
  private readonly clock: () => number;
  private readonly minTtlMs: number;
  private readonly maxTtlMs: number;
  private readonly maxInstances: number;
  private instanceCount = 0;
  private timer: NodeJS.Timeout | undefined;
  private timerAt = Number.POSITIVE_INFINITY;
  private closed = false;

  constructor(private readonly options: RegistryOptions = {}) {
    this.clock = options.clock ?? Date.now;
    this.minTtlMs = options.minTtlMs ?? 100;
    this.maxTtlMs = options.maxTtlMs ?? 3_600_000;
    this.maxInstances = options.maxInstances ?? 100_000;
  }

  /** Registers an instance, or renews and updates it when its id is already registered. */
  register(service: string, registration: InstanceRegistration): LeaseGranted {
    const checked = checkRegistration(service, registration, {
      minTtlMs: this.minTtlMs,
      maxTtlMs: this.maxTtlMs,
    });
    const { id, ttlMs } = checked;
    let entry = this.services.get(service);
    const held = entry?.instances.get(id);
    if (held === undefined && this.instanceCount >= this.maxInstances) {
      throw new RegistryError(
        `the registry holds its maximum of ${this.maxInstances} instances`,
        "full",
      );
    }
    if (entry === undefined) {
      entry = { name: service, index: 0, instances: new Map(), expiries: [] };
      this.services.set(service, entry);
    }
    const now = this.clock();
    const instance: Instance = {
      ...checked,
      expired: false,
      expiresAt: now + ttlMs,
      registeredAt: held?.registeredAt ?? now,
      renewedAt: now,
      renewals: held ? held.renewals + 1 : 0,
      keptSince: 0,
    };
    entry.instances.set(id, instance);
    if (held === undefined) {
      this.instanceCount++;
      this.options.logger?.info({ service, instance: id, ttlMs }, "instance registered");
    }
    if (held === undefined || !sameInstance(held, instance)) this.changed(entry, id, instance);
    this.armTimer(instance.expiresAt);
    return { id, expiresAt: instance.expiresAt, index: entry.index };
  }

  /**
   * Extends a lease by its TTL; undefined when the instance is unknown (expired and removed,
   * or never registered), which tells it to register again. A kept (self-preserved) instance
   * that renews is live again.
   */
  renew(service: string, id: string): number | undefined {
    const entry = this.services.get(service);
    const instance = entry?.instances.get(id);
    if (entry === undefined || instance === undefined) return undefined;
    const now = this.clock();
    if (instance.expiresAt <= now && !instance.expired) {
      // Ran out but not yet collected: the same answer as after a collection.
      this.sweep();
      if (!entry.instances.has(id)) return undefined;
    }
    instance.expiresAt = now + instance.ttlMs;
    instance.renewedAt = now;
    instance.renewals++;
    if (instance.expired) {
      instance.expired = false;
      instance.keptSince = 0;
      this.changed(entry, id, instance);
      this.options.logger?.info({ service, instance: id }, "kept instance renewed: live again");
    }
    this.armTimer(instance.expiresAt);
    return instance.expiresAt;
  }

  /** Removes an instance at its own request; false when it is not registered. */
  deregister(service: string, id: string): boolean {
    const entry = this.services.get(service);
    if (entry === undefined || !entry.instances.has(id)) return false;
    this.removeInstance(entry, id);
    this.options.logger?.info({ service, instance: id }, "instance deregistered");
    return true;
  }

  /** A service's instances and index; an unknown service is empty at index 0. */
  snapshot(service: string): ServiceSnapshot {
    return serviceSnapshot(service, this.services.get(service));
  }

  /** True while self-preservation keeps expired instances of the service. */
  preserving(service: string): boolean {
    const entry = this.services.get(service);
    return entry !== undefined && isPreserving(entry);
  }

  /** The index of one service (0 when unknown). */
  serviceIndex(service: string): number {
    return this.services.get(service)?.index ?? 0;
  }

  /** Every service with its counts, for the API and `ballast ctl`. */
  list(): ServiceSummary[] {
    return serviceSummaries(this.services.values());
  }

  /** Leases of one service, with renew counts, for `ballast ctl` and the API. */
  leases(service: string): LeaseView[] {
    return leaseViews(this.services.get(service));
  }

  /** Subscribes to every change. */
  onChange(listener: ChangeListener): () => void {
    this.listeners.push(listener);
    return () => {
      const at = this.listeners.indexOf(listener);
      if (at >= 0) this.listeners.splice(at, 1);
    };
  }

  /** Collects expired leases now (also runs on a timer armed for the next expiry). */
  sweep(): void {
    const now = this.clock();
    const preservation = this.options.selfPreservation;
    for (const entry of this.services.values()) {
      const expiring: Instance[] = [];
      for (const instance of entry.instances.values()) {
        if (instance.expired) {
          if (preservation === undefined || now - instance.keptSince >= preservation.keepForMs) {
            this.removeInstance(entry, instance.id);
            this.options.logger?.warn(
              { service: entry.name, instance: instance.id },
              "kept instance removed: kept for too long",
            );
          }
        } else if (instance.expiresAt <= now) expiring.push(instance);
      }
      if (expiring.length === 0) continue;
      if (preservation !== undefined && this.partitioned(entry, now, preservation)) {
        for (const instance of expiring) {
          instance.expired = true;
          instance.keptSince = now;
          this.changed(entry, instance.id, instance);
        }
        this.options.logger?.warn(
          { service: entry.name, expired: expiring.length, instances: entry.instances.size },
          "self-preservation: too many leases ran out at once; keeping the instances",
        );
        continue;
      }
      for (const instance of expiring) {
        entry.expiries.push(now);
        this.removeInstance(entry, instance.id);
        this.options.logger?.warn(
          { service: entry.name, instance: instance.id },
          "lease expired: instance removed",
        );
      }
    }
    this.timerAt = Number.POSITIVE_INFINITY;
    this.timer = undefined;
    this.armTimer(this.nextExpiry());
  }

  /** Nothing to load: the memory store starts empty. */
  start(): Promise<void> {
    return Promise.resolve();
  }

  /** Stops the expiry timer; change listeners stay. */
  close(): void {
    this.closed = true;
    if (this.timer !== undefined) clearTimeout(this.timer);
    this.timer = undefined;
  }

  /**
   * True when the silent instances, with those expired within the window, exceed the share.
   * Silent: no renewal for over half the TTL. Instances renew every third of their TTL, so
   * when a partition cuts them all off, the others are already silent when the first lease
   * runs out, and the very first expiry is judged with them.
   */
  private partitioned(entry: Service, now: number, p: SelfPreservation): boolean {
    while (entry.expiries.length > 0 && entry.expiries[0] <= now - p.windowMs)
      entry.expiries.shift();
    const recent = entry.expiries.length;
    const population = entry.instances.size + recent;
    if (population < p.minInstances) return false;
    let silent = 0;
    for (const i of entry.instances.values())
      if (i.expired || now - i.renewedAt > i.ttlMs / 2) silent++;
    return (silent + recent) / population > p.share;
  }

  private removeInstance(entry: Service, id: string): void {
    entry.instances.delete(id);
    this.instanceCount--;
    this.changed(entry, id, undefined);
  }

  private changed(entry: Service, id: string, instance: Instance | undefined): void {
    entry.index = ++this.index;
    const shown = instance === undefined ? undefined : instanceView(instance);
    for (const listener of this.listeners) listener(entry.name, id, shown);
  }

  private nextExpiry(): number {
    let next = Number.POSITIVE_INFINITY;
    const keepFor = this.options.selfPreservation?.keepForMs ?? 0;
    for (const entry of this.services.values()) {
      for (const instance of entry.instances.values()) {
        const at = instance.expired ? instance.keptSince + keepFor : instance.expiresAt;
        if (at < next) next = at;
      }
    }
    return next;
  }

  /** Makes sure a sweep runs by `at`: expiry is prompt, not a sweep interval late. */
  private armTimer(at: number): void {
    if (this.closed || !Number.isFinite(at) || at >= this.timerAt) return;
    if (this.timer !== undefined) clearTimeout(this.timer);
    this.timerAt = at;
    const delay = Math.max(SWEEP_FLOOR_MS, at - this.clock() + 1);
    this.timer = setTimeout(() => this.sweep(), delay);
    this.timer.unref();
  }
}
