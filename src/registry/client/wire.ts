/**
 * What the registry sends and takes on the wire. The client owns these types so that
 * `ballast/client` needs nothing of the server; the server speaks them.
 */

/** One registered instance of a service, as watchers see it. */
export interface InstanceView {
  id: string;
  host: string;
  port: number;
  weight: number;
  /** Where the instance runs (a zone, rack or data centre); clients prefer their own. */
  zone?: string;
  metadata: Record<string, string>;
  /** The lease ran out but self-preservation keeps the instance listed (see docs/registry.md). */
  expired: boolean;
  /** Lease end, in ms since the epoch. */
  expiresAt: number;
}

/** A whole service: the answer to a long-poll and the first event of a stream. */
export interface ServiceSnapshot {
  service: string;
  /** Grows with every change of this service; a watcher sends it back to wait for the next. */
  index: number;
  instances: InstanceView[];
  /** True while self-preservation keeps expired instances of this service. */
  preserving: boolean;
}

/** A change to a service, sent on the event stream after the first snapshot. */
export interface ServiceDelta {
  service: string;
  index: number;
  /** Instances added or changed, whole. */
  upserted: InstanceView[];
  /** Ids of instances that left. */
  removed: string[];
  preserving: boolean;
}
