/**
 * The one interface of the registry's storage: in memory on one node (store.ts), or in etcd
 * shared by several nodes (etcd-store.ts). The admin API, the watch hub and discovery pools
 * speak only this. Reads answer from the node's own view at once; writes may take a round
 * trip (etcd), so callers await them.
 */
import type { InstanceView, ServiceSnapshot } from "./client/wire.js";

/** What an instance says when it registers. */
export interface InstanceRegistration {
  host: string;
  port: number;
  weight?: number;
  zone?: string;
  metadata?: Record<string, string>;
  /** The lease lasts this long after each register or renew. */
  ttlMs: number;
  /** Defaults to "host:port". */
  id?: string;
}

/** Self-preservation: how many expiries at once look like a partition rather than failures. */
export interface SelfPreservation {
  /** More than this share (0..1) of a service's instances expiring within `windowMs` is a partition. */
  share: number;
  windowMs: number;
  /** Expired instances are kept at most this long, then removed anyway. */
  keepForMs: number;
  /** Services with fewer instances than this are never preserved. */
  minInstances: number;
}

/** A registration the registry refuses; the message says why (the API answers 4xx or 5xx). */
export class RegistryError extends Error {
  constructor(
    message: string,
    readonly kind: "invalid" | "not-found" | "full" | "unavailable",
  ) {
    super(message);
    this.name = "RegistryError";
  }
}

/** Hears every change: the instance as it is now, or undefined when it left. */
export type ChangeListener = (
  service: string,
  id: string,
  instance: InstanceView | undefined,
) => void;

/** The answer to a registration. */
export interface LeaseGranted {
  id: string;
  /** Lease end, ms since the epoch. */
  expiresAt: number;
  index: number;
}

/** One service in the list of services. */
export interface ServiceSummary {
  service: string;
  index: number;
  instances: number;
  expired: number;
  preserving: boolean;
}

/** An instance with its lease, for `ballast ctl` and the API. */
export type LeaseView = InstanceView & { ttlMs: number; registeredAt: number; renewals: number };

/** A value now, or once a round trip to the storage is done. */
export type Eventually<T> = T | Promise<T>;

/** Where the registry keeps its services; see the file's comment. */
export interface RegistryStorage {
  /** Grows with every change of any service (etcd: the cluster's revision). */
  readonly index: number;
  /** Registers an instance, or renews and updates it when its id is already registered. */
  register(service: string, registration: InstanceRegistration): Eventually<LeaseGranted>;
  /** Extends a lease; undefined when the instance is unknown (it must register again). */
  renew(service: string, id: string): Eventually<number | undefined>;
  /** Removes an instance at its own request; false when it is not registered. */
  deregister(service: string, id: string): Eventually<boolean>;
  /** A service's instances and index; an unknown service is empty at index 0. */
  snapshot(service: string): ServiceSnapshot;
  /** True while self-preservation keeps expired instances of the service. */
  preserving(service: string): boolean;
  /** The index of one service (0 when unknown). */
  serviceIndex(service: string): number;
  /** Every service with its counts. */
  list(): ServiceSummary[];
  /** Leases of one service. */
  leases(service: string): LeaseView[];
  /** Subscribes to every change. */
  onChange(listener: ChangeListener): () => void;
  /** Loads and starts following the storage (etcd); the memory store has nothing to do. */
  start(): Promise<void>;
  /** Stops timers and connections; change listeners stay. */
  close(): Eventually<void>;
}
