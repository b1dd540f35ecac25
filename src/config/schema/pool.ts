/** The `pools` section: backends, the algorithm and how a pool behaves. */
import { z } from "zod";
import { isPrime } from "../../balancer/maglev.js";
import { algorithmNames } from "../../balancer/types.js";
import { duration, hostPort, positiveDuration } from "./common.js";
import { healthCheckSchema, passiveSchema, roleReportingChecks } from "./health.js";
import { discoverySchema } from "./registry.js";

export const backendSchema = z.strictObject({
  /** "host:port" of the backend. */
  address: hostPort,
  /** A stable name for the admin API and sticky cookies; defaults to the address. */
  name: z.string().min(1).optional(),
  weight: z.number().int().min(0).max(65535).default(1),
  /** Used only when every primary backend is down (HAProxy `backup`). */
  backup: z.boolean().default(false),
  /** Most connections at once; at the limit the backend is skipped (IPVS -x, nginx max_conns). */
  max_connections: z.number().int().min(0).default(0),
  /** Overload clears below this (IPVS -y); 3/4 of max_connections when unset. */
  min_connections: z.number().int().min(0).default(0),
  /** Public URL used by HTTP-redirect routes (`Location` points here). */
  redirect_url: z.string().url().optional(),
});

/** Where the hashing key of the hash algorithms comes from. */
export const hashKeySchema = z.union([
  z.enum(["client_ip", "client_ip_port", "url", "path", "host"]),
  z.strictObject({ header: z.string().min(1) }),
  z.strictObject({ cookie: z.string().min(1) }),
  z.strictObject({ query: z.string().min(1) }),
]);

export const stickySchema = z.strictObject({
  /** Insert a cookie naming the backend (opaque to the client), as HAProxy `cookie insert`. */
  cookie: z.string().min(1).default("BALLAST"),
  /** Cookie lifetime; unset means a session cookie. */
  max_age: duration.optional(),
  http_only: z.boolean().default(true),
  secure: z.boolean().default(false),
});

/** A pool section before the checks across its fields (see `poolSchema`). */
const poolFields = z.strictObject({
  algorithm: z.enum(algorithmNames).default("wrr"),
  /** The key for `chash`, `maglev`, `bounded`, `sh`, `dh`, `lblc`, `lblcr`. */
  hash_key: hashKeySchema.default("client_ip"),
  /** Algorithm tuning: vnodes, hash, table_size, load_factor, expiration, ... */
  options: z
    .strictObject({
      vnodes: z.number().int().min(1).max(10_000).optional(),
      hash: z.enum(["fnv1a", "murmur3", "md5", "xxhash32"]).optional(),
      /** maglev: prime, so every backend's preference list visits every slot. */
      table_size: z
        .number()
        .int()
        .min(7)
        .max(1 << 24)
        .refine(isPrime, { message: "maglev's table size must be a prime, such as 65537" })
        .optional(),
      load_factor: z.number().min(1).optional(),
      expiration: duration.optional(),
      hash_port: z.boolean().optional(),
      fallback: z.boolean().optional(),
      decay: duration.optional(),
      default_latency: duration.optional(),
    })
    .default({}),
  backends: z.array(backendSchema).default([]),
  /** Backends from a registry service too, followed with no reload. */
  discovery: discoverySchema.optional(),
  health_check: healthCheckSchema.optional(),
  /** On by default, as nginx's max_fails=1 fail_timeout=10s: a dead backend costs no request. */
  passive: passiveSchema.default({ max_fails: 1, fail_timeout: 10_000 }),
  /** Ramp a recovered backend's weight up over this time (HAProxy `slowstart`). */
  slow_start: duration.default(0),
  /** Below this percentage of healthy primaries, spread over all of them (Envoy panic). */
  panic_threshold: z.number().min(0).max(100).default(0),
  sticky: stickySchema.optional(),
  /** LVS persistence (`ipvsadm -p`): same client, same backend, for this long after its last connection. */
  persistence: duration.optional(),
  /** Answer when nothing is up: a sorry server's "host:port". */
  sorry_server: hostPort.optional(),
  /** Adjust weights from measured latency, damped and bounded. */
  dynamic_weights: z
    .strictObject({
      interval: positiveDuration.default(5000),
      /** Lowest factor of the configured weight; above 0, so a slow backend keeps some traffic. */
      floor: z.number().gt(0).max(1).default(0.25),
      /** Highest factor of the configured weight. */
      ceiling: z.number().min(1).default(2),
      /** Largest change of the factor per interval. */
      max_step: z.number().min(0).max(1).default(0.1),
      /** The reference latency: `median` (one slow backend does not move it) or `mean`. */
      baseline: z.enum(["median", "mean"]).default("median"),
    })
    .optional(),
  /** Serve only backends the database check finds in this role (a write or a read pool). */
  role: z.enum(["primary", "replica"]).optional(),
  /** A `role: replica` pool with no replica in service sends reads to the primary. */
  fallback_to_primary: z.boolean().default(false),
});

export const poolSchema = poolFields.superRefine((pool, ctx) => {
  const issue = (path: string, message: string) =>
    ctx.addIssue({ code: "custom", path: [path], message });
  if (pool.role === undefined) {
    if (pool.fallback_to_primary)
      issue("fallback_to_primary", "fallback_to_primary needs role: replica");
    return;
  }
  const check = pool.health_check;
  const reports = (roleReportingChecks as readonly string[]).includes(check?.type ?? "");
  // Without a user, a mysql check sees only the greeting, which does not tell the role.
  if (!reports || (check?.type === "mysql" && check.user === undefined)) {
    issue(
      "health_check",
      `role: ${pool.role} needs a health_check that finds roles: type mysql (with a user), postgres or redis`,
    );
  }
  if (pool.fallback_to_primary && pool.role !== "replica") {
    issue("fallback_to_primary", "fallback_to_primary is for role: replica pools");
  }
  // Panic spreads over every enabled backend whatever its role: writes could reach a replica.
  if (pool.panic_threshold > 0) {
    issue("panic_threshold", "panic_threshold cannot be used with role: it would ignore roles");
  }
});

export type BackendConfig = z.infer<typeof backendSchema>;
export type HashKeyConfig = z.infer<typeof hashKeySchema>;
export type StickyConfig = z.infer<typeof stickySchema>;
export type PoolConfig = z.infer<typeof poolSchema>;
