/** The `registry:` section: the service registry on the admin server, and its limits. */
import { z } from "zod";
import { duration, positiveDuration } from "./common.js";

/**
 * `storage: { etcd: ... }`: keep the registry in an etcd v3 cluster, so several ballast
 * nodes share it. Without it the registry lives in the node's memory.
 */
export const etcdStorageSchema = z.strictObject({
  /** The cluster's client URLs; calls go to any that answers. */
  endpoints: z
    .array(
      z.string().refine((e) => /^(http:\/\/)?[A-Za-z0-9_.\-[\]:]+:\d{1,5}$/.test(e), {
        message: 'an etcd endpoint is "host:port" or "http://host:port" (TLS is not supported yet)',
      }),
    )
    .min(1)
    .max(32),
  /** Every key of this registry starts with it; nodes with the same prefix share a registry. */
  prefix: z
    .string()
    .refine((p) => /^\/[A-Za-z0-9_.\-/]{0,200}\/$/.test(p), {
      message: 'a prefix starts and ends with "/", such as "/ballast/registry/"',
    })
    .default("/ballast/registry/"),
  /** Longest wait for one etcd call before it counts as failed (and is tried on another member). */
  timeout: positiveDuration.default(5_000),
  /** etcd's own authentication, when the cluster has it on. */
  username: z.string().min(1).max(200).optional(),
  password: z.string().min(1).max(200).optional(),
});

export const registrySchema = z.strictObject({
  /** Shortest and longest lease an instance may ask for. */
  min_ttl: positiveDuration.default(100),
  max_ttl: positiveDuration.default(3_600_000),
  /** Most instances over all services. */
  max_instances: z.number().int().min(1).max(10_000_000).default(100_000),
  /** Where the registry is kept: absent, in this node's memory; `{ etcd: ... }` shared. */
  storage: z
    .strictObject({ etcd: etcdStorageSchema })
    .refine((s) => (s.etcd.username === undefined) === (s.etcd.password === undefined), {
      message: "etcd username and password go together",
      path: ["etcd", "password"],
    })
    .optional(),
  /** How often event streams carry a keep-alive comment. */
  ping_interval: positiveDuration.default(10_000),
  /** Keep instances when too many leases run out at once (Eureka); `false` turns it off. */
  self_preservation: z
    .union([
      z.literal(false),
      z.strictObject({
        /** More than this share of a service's instances expiring within `window` is a partition. */
        share: z.number().gt(0).max(1).default(0.5),
        window: positiveDuration.default(30_000),
        /** Kept instances are removed anyway after this long. */
        keep_for: duration.default(600_000),
        /** Services with fewer instances are never preserved. */
        min_instances: z.number().int().min(1).default(3),
      }),
    ])
    .default({ share: 0.5, window: 30_000, keep_for: 600_000, min_instances: 3 }),
});

/** A pool's `discovery:` section: take backends from a registry service. */
export const discoverySchema = z.strictObject({
  service: z
    .string()
    .regex(/^[A-Za-z0-9_.:-]{1,200}$/, "service names use letters, digits, _ . : -"),
  /** Instances of this zone are primaries; the others are backups. */
  zone: z.string().min(1).max(200).optional(),
});

export type RegistryConfig = z.infer<typeof registrySchema>;
export type EtcdStorageConfig = z.infer<typeof etcdStorageSchema>;
export type DiscoveryConfig = z.infer<typeof discoverySchema>;
