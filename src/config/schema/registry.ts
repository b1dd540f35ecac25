/** The `registry:` section: the service registry on the admin server, and its limits. */
import { z } from "zod";
import { duration, positiveDuration } from "./common.js";

export const registrySchema = z.strictObject({
  /** Shortest and longest lease an instance may ask for. */
  min_ttl: positiveDuration.default(100),
  max_ttl: positiveDuration.default(3_600_000),
  /** Most instances over all services. */
  max_instances: z.number().int().min(1).max(10_000_000).default(100_000),
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
export type DiscoveryConfig = z.infer<typeof discoverySchema>;
