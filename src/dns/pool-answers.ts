/**
 * The one place the DNS plane chooses backends: the addresses a pool-backed record answers.
 * A DNS answer is not a connection, so no lease is taken and no connection count moves.
 */
import type { BackendState } from "../pool/backend.js";
import type { Pool } from "../pool/pool.js";

/**
 * Up to `count` distinct usable backends of `pool` in the order its policy chooses them
 * (`rr`/`wrr` rotate, `chash` is stable for one `key`, panic mode and backups apply), as a
 * Selection would hand them out but without leases; `accept` filters (the address family of
 * the record). Empty when nothing is up.
 */
export function answersFrom(
  pool: Pool,
  count: number,
  key: string | undefined,
  accept: (backend: BackendState) => boolean = () => true,
): BackendState[] {
  const chosen: BackendState[] = [];
  const seen: BackendState[] = [];
  while (chosen.length < count && seen.length < pool.size) {
    const backend = pool.chooseUntried(key, seen);
    if (backend === undefined) break;
    // The policy hands out backups once the primaries are used up; a backup answers only
    // when no primary can (HAProxy `backup`), never beside one in a multivalue answer.
    if (backend.backup && chosen.some((b) => !b.backup)) break;
    seen.push(backend);
    if (accept(backend)) chosen.push(backend);
  }
  return chosen;
}

/** Every enabled, undrained backend of `pool` that `accept` takes, health ignored: the "answer all" of an outage. */
export function allEnabled(pool: Pool, accept: (backend: BackendState) => boolean): BackendState[] {
  return pool.backends.filter((b) => b.enabled && !b.draining && accept(b));
}
