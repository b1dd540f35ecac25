/** Turns the `pools` section of a config into live pools. */
import type { BalancerOptions } from "../balancer/types.js";
import type { BackendConfig, PoolConfig } from "../config/schema/index.js";
import type { BackendSpec } from "../pool/backend.js";
import { Pool, type PoolOptions } from "../pool/pool.js";

/** The backend as the pool knows it. */
export function backendSpecFromConfig(backend: BackendConfig): BackendSpec {
  return {
    id: backend.name,
    host: backend.address.host,
    port: backend.address.port,
    weight: backend.weight,
    backup: backend.backup,
    maxConnections: backend.max_connections,
    minConnections: backend.min_connections,
    redirectUrl: backend.redirect_url,
    source: "config",
  };
}

/** The pool's options from its config section. */
export function poolOptionsFromConfig(pool: PoolConfig): Omit<PoolOptions, "clock" | "random"> {
  const o = pool.options;
  const algorithmOptions: BalancerOptions = {};
  if (o.vnodes !== undefined) algorithmOptions.vnodes = o.vnodes;
  if (o.hash !== undefined) algorithmOptions.hash = o.hash;
  if (o.table_size !== undefined) algorithmOptions.tableSize = o.table_size;
  if (o.load_factor !== undefined) algorithmOptions.loadFactor = o.load_factor;
  if (o.expiration !== undefined) algorithmOptions.expirationMs = o.expiration;
  if (o.hash_port !== undefined) algorithmOptions.hashPort = o.hash_port;
  if (o.fallback !== undefined) algorithmOptions.fallback = o.fallback;
  if (o.decay !== undefined) algorithmOptions.decayMs = o.decay;
  if (o.default_latency !== undefined) algorithmOptions.defaultLatencyMs = o.default_latency;
  return {
    algorithm: pool.algorithm,
    algorithmOptions,
    slowStartMs: pool.slow_start,
    panicThresholdPercent: pool.panic_threshold,
    hashKey: pool.hash_key,
    persistenceMs: pool.persistence ?? 0,
    sticky:
      pool.sticky === undefined
        ? undefined
        : {
            cookie: pool.sticky.cookie,
            maxAgeMs: pool.sticky.max_age,
            httpOnly: pool.sticky.http_only,
            secure: pool.sticky.secure,
          },
    sorryServer: pool.sorry_server,
    role: pool.role,
    fallbackToPrimary: pool.fallback_to_primary,
    // One time constant for both halves of peak EWMA: how the pool blends new samples in,
    // and how ewma decays an estimate that has had no sample for a while.
    ...(o.decay !== undefined && { latencyDecayMs: o.decay }),
  };
}

/** A new pool built from its config section. */
export function createPoolFromConfig(name: string, pool: PoolConfig): Pool {
  return new Pool(name, pool.backends.map(backendSpecFromConfig), poolOptionsFromConfig(pool));
}
