/** Applies a reload's backend changes to a live pool, keeping the state of backends that stay. */
import type { BackendConfig } from "../config/schema/index.js";
import type { Pool } from "../pool/pool.js";
import { type BackendDiff, backendId } from "./diff.js";
import { backendSpecFromConfig } from "./pools.js";

/**
 * Adds new backends, drains removed ones (they leave when their last request ends) and
 * changes the others in place. A backend whose address or role (backup) changed is a new
 * backend under the same id: the old one leaves at once, its open leases still release.
 */
export function applyBackendDiff(pool: Pool, diff: BackendDiff): void {
  for (const id of diff.removed) pool.drain(id, { remove: true });
  for (const config of diff.added) addOrRevive(pool, config);
  for (const config of diff.changed) changeInPlace(pool, config);
}

/**
 * The file is the truth for membership: a configured backend missing from the live pool
 * (removed through the admin API since) joins again. Returns the ids that joined.
 */
export function restoreMembership(pool: Pool, configs: readonly BackendConfig[]): string[] {
  const restored: string[] = [];
  for (const config of configs) {
    const id = backendId(config);
    if (pool.get(id) !== undefined) continue;
    pool.add(backendSpecFromConfig(config));
    restored.push(id);
  }
  return restored;
}

/** Takes a pool that left the config out of service: every backend drains, then leaves. */
export function drainAndClosePool(pool: Pool): void {
  for (const backend of [...pool.backends]) pool.drain(backend.id, { remove: true });
  pool.close();
}

function addOrRevive(pool: Pool, config: BackendConfig): void {
  const existing = pool.get(backendId(config));
  if (existing === undefined) {
    pool.add(backendSpecFromConfig(config));
    return;
  }
  // Still draining from an earlier reload (or added through the API): it stays, as configured.
  changeInPlace(pool, config);
  if (pool.get(existing.id) === existing && existing.draining) pool.setEnabled(existing.id, true);
}

function changeInPlace(pool: Pool, config: BackendConfig): void {
  const spec = backendSpecFromConfig(config);
  const id = backendId(config);
  const backend = pool.get(id);
  if (
    backend === undefined ||
    backend.host !== spec.host ||
    backend.port !== spec.port ||
    backend.backup !== (spec.backup ?? false)
  ) {
    if (backend !== undefined) pool.remove(id);
    pool.add(spec);
    return;
  }
  backend.maxConnections = spec.maxConnections ?? 0;
  backend.minConnections = spec.minConnections ?? 0;
  backend.refreshOverload();
  // setWeight also rebuilds the algorithm, so the new thresholds are seen at once.
  pool.setWeight(id, spec.weight ?? 1);
}
