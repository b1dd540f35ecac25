/**
 * Whether this director is fit to hold the virtual addresses: the verdict ballast writes to
 * the health file keepalived tracks (docs/kernel-ha.md, "What fit means").
 */
import type { HaConfig } from "../config/schema/index.js";
import type { Pool } from "../pool/pool.js";

/** The health file's value while fit: keepalived leaves the priority as configured. */
export const FIT = 0;
/** While unfit: keepalived multiplies it by the track weight (-unfit_penalty). */
export const UNFIT = 1;
/**
 * After a graceful stop: any weight times this is below keepalived's -253, which puts the
 * instance in FAULT at once, so the VIPs move before the listeners close.
 */
export const STOPPED = 1000;

/** The verdict, with the reasons when unfit. */
export interface DirectorFitness {
  fit: boolean;
  /** One line per tracked pool below `min_backends_up`, e.g. `pool web: 0 of 2 backends available`. */
  reasons: string[];
}

/**
 * Fit when every tracked pool (`ha.pools`, else every pool) has at least `min_backends_up`
 * available backends: healthy, enabled, not draining and not suspended. A tracked pool that
 * does not exist (removed by a reload) counts as having none.
 */
export function directorFitness(
  pools: ReadonlyMap<string, Pool>,
  ha: Pick<HaConfig, "pools" | "min_backends_up">,
): DirectorFitness {
  const reasons: string[] = [];
  for (const name of ha.pools ?? pools.keys()) {
    const pool = pools.get(name);
    const total = pool?.backends.length ?? 0;
    let available = 0;
    for (const backend of pool?.backends ?? []) if (backend.available) available++;
    if (available < ha.min_backends_up) {
      const need = ha.min_backends_up === 1 ? "" : ` (needs ${ha.min_backends_up})`;
      reasons.push(`pool ${name}: ${available} of ${total} backends available${need}`);
    }
  }
  return { fit: reasons.length === 0, reasons };
}
