/**
 * The read side both registry storages share: what the API and `ballast ctl` see of the
 * services a node holds (its own copy, in memory or of etcd's keys), whatever keeps it.
 */
import type { InstanceView, ServiceSnapshot } from "./client/wire.js";
import type { LeaseView, ServiceSummary } from "./storage.js";

/** An instance as a storage holds it: its view plus its lease's history. */
export interface HeldInstance extends InstanceView {
  ttlMs: number;
  registeredAt: number;
  renewals: number;
}

/** A service as a storage holds it. */
export interface HeldService {
  name: string;
  index: number;
  instances: Map<string, HeldInstance>;
}

/** True while self-preservation keeps expired instances of the service. */
export function isPreserving(entry: HeldService): boolean {
  for (const instance of entry.instances.values()) if (instance.expired) return true;
  return false;
}

/** What clients are sent of an instance (nothing of the lease's history). */
export function instanceView(i: InstanceView): InstanceView {
  return {
    id: i.id,
    host: i.host,
    port: i.port,
    weight: i.weight,
    ...(i.zone !== undefined && { zone: i.zone }),
    metadata: i.metadata,
    expired: i.expired,
    expiresAt: i.expiresAt,
  };
}

/** A service's instances and index; an unknown service is empty at index 0. */
export function serviceSnapshot(service: string, entry: HeldService | undefined): ServiceSnapshot {
  if (entry === undefined) return { service, index: 0, instances: [], preserving: false };
  return {
    service,
    index: entry.index,
    instances: [...entry.instances.values()].map(instanceView),
    preserving: isPreserving(entry),
  };
}

/** Every service with its counts. */
export function serviceSummaries(services: Iterable<HeldService>): ServiceSummary[] {
  return [...services].map((entry) => {
    let expired = 0;
    for (const instance of entry.instances.values()) if (instance.expired) expired++;
    return {
      service: entry.name,
      index: entry.index,
      instances: entry.instances.size,
      expired,
      preserving: expired > 0,
    };
  });
}

/** Leases of one service, with renew counts (none for an unknown service). */
export function leaseViews(entry: HeldService | undefined): LeaseView[] {
  if (entry === undefined) return [];
  return [...entry.instances.values()].map((i) => ({
    ...instanceView(i),
    ttlMs: i.ttlMs,
    registeredAt: i.registeredAt,
    renewals: i.renewals,
  }));
}
