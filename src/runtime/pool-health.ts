/** Attaches a pool's health machinery (active checks, passive detection, dynamic weights). */
import type { PoolConfig } from "../config/schema/index.js";
import {
  type PoolHealth as ActiveChecks,
  attachPassiveDetection,
  type BackendHealthView,
  type DynamicWeights,
  dynamicWeightOptionsFromConfig,
  startDynamicWeights,
  startPoolHealth,
} from "../health/index.js";
import type { Logger } from "../log.js";
import type { Pool } from "../pool/pool.js";

/** The health machinery of one pool, reconfigurable in place on reload. */
export interface PoolHealth {
  /** Applies a changed pool config; parts whose section did not change keep running. */
  update(config: PoolConfig): void;
  /** Stops every checker and detaches every observer. */
  stop(): void;
  /** The active checks' view of each backend; empty when the pool has no `health_check`. */
  checks(): BackendHealthView[];
}

/**
 * Starts what the pool's config asks for: `health_check`, `passive`, `dynamic_weights`.
 * `passiveOnly` is for the workers of `workers: N`: the primary runs the active checks and
 * dynamic weights once and sends their verdicts, while passive detection watches each
 * worker's own traffic.
 */
export function attachPoolHealth(
  pool: Pool,
  config: PoolConfig,
  logger: Logger,
  options: { passiveOnly?: boolean } = {},
): PoolHealth {
  const passiveOnly = options.passiveOnly ?? false;
  let current = config;
  let active: ActiveChecks | undefined;
  let detachPassive: (() => void) | undefined;
  let dynamic: DynamicWeights | undefined;

  const startActive = (section: PoolConfig["health_check"]) => {
    if (section !== undefined && !passiveOnly) active = startPoolHealth(pool, section, logger);
  };
  const startPassive = (section: PoolConfig["passive"]) => {
    if (section === undefined) return;
    detachPassive = attachPassiveDetection(pool, {
      maxFails: section.max_fails,
      failTimeoutMs: section.fail_timeout,
    });
  };
  const startDynamic = (section: PoolConfig["dynamic_weights"]) => {
    const options = passiveOnly ? undefined : dynamicWeightOptionsFromConfig(section);
    if (options !== undefined) dynamic = startDynamicWeights(pool, options);
  };
  startActive(config.health_check);
  startPassive(config.passive);
  startDynamic(config.dynamic_weights);

  return {
    update(next) {
      const previous = current;
      current = next;
      if (!same(previous.health_check, next.health_check)) {
        if (active !== undefined && next.health_check !== undefined) {
          active.update(next.health_check);
        } else {
          // Checks removed: backends they held down come back, nothing else would raise them.
          active?.stop({ restoreUp: true });
          active = undefined;
          startActive(next.health_check);
        }
      }
      if (!same(previous.passive, next.passive)) {
        detachPassive?.();
        detachPassive = undefined;
        startPassive(next.passive);
      }
      if (!same(previous.dynamic_weights, next.dynamic_weights)) {
        const options = passiveOnly
          ? undefined
          : dynamicWeightOptionsFromConfig(next.dynamic_weights);
        if (dynamic !== undefined && options !== undefined) dynamic.update(options);
        else {
          dynamic?.stop({ reset: true });
          dynamic = undefined;
          startDynamic(next.dynamic_weights);
        }
      }
    },
    stop() {
      active?.stop();
      active = undefined;
      detachPassive?.();
      detachPassive = undefined;
      dynamic?.stop();
      dynamic = undefined;
    },
    checks() {
      return active?.backends() ?? [];
    },
  };
}

function same(a: unknown, b: unknown): boolean {
  return JSON.stringify(a) === JSON.stringify(b);
}
