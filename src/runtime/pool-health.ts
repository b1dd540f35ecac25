/** Attaches a pool's health machinery (active checks, passive detection, dynamic weights). */
import type { PoolConfig } from "../config/schema/index.js";
import type { Logger } from "../log.js";
import type { Pool } from "../pool/pool.js";

/** The health machinery of one pool, reconfigurable in place on reload. */
export interface PoolHealth {
  /** Applies a changed pool config; parts whose section did not change keep running. */
  update(config: PoolConfig): void;
  /** Stops every checker and detaches every observer. */
  stop(): void;
}

/** Starts what the pool's config asks for: `health_check`, `passive`, `dynamic_weights`. */
export function attachPoolHealth(_pool: Pool, _config: PoolConfig, _logger: Logger): PoolHealth {
  return { update() {}, stop() {} };
}
