/**
 * The one place the DNS plane chooses backends: the addresses a pool-backed record answers.
 * A DNS answer is not a connection, so no lease is taken and no connection count moves.
 */
import type { BackendState } from "../pool/backend.js";
import type { Pool } from "../pool/pool.js";

/**
 * Up to `count` distinct usable backends of `pool` in the order its algorithm chooses them
 * (`rr`/`wrr` rotate, `chash` is stable for one `key`); `accept` filters (the address
 * family of the record). Empty when nothing is up.
 */
export function answersFrom(
  pool: Pool,
  count: number,
  key: string | undefined,
  accept: (backend: BackendState) => boolean = () => true,
): BackendState[] {
  const chosen: BackendState[] = [];
  const all = pool.backends;
  // The algorithm orders the answer while it keeps naming new backends; a hashing one
  // names the same backend again for the same key, and the rest come in pool order.
  let first: BackendState | undefined;
  for (let i = 0; i < count * 2 && chosen.length < count; i++) {
    const backend = pool.pick(key);
    if (backend === undefined || backend === first || chosen.includes(backend)) break;
    first ??= backend;
    if (accept(backend)) chosen.push(backend);
  }
  if (first === undefined || chosen.length >= count) return chosen;
  const start = Math.max(0, all.indexOf(first));
  for (let i = 0; i < all.length && chosen.length < count; i++) {
    const backend = all[(start + i) % all.length];
    if (backend.available && backend.weight > 0 && !chosen.includes(backend) && accept(backend)) {
      chosen.push(backend);
    }
  }
  return chosen;
}

/** Every enabled, undrained backend of `pool` that `accept` takes, health ignored: the "answer all" of an outage. */
export function allEnabled(pool: Pool, accept: (backend: BackendState) => boolean): BackendState[] {
  return pool.backends.filter((b) => b.enabled && !b.draining && accept(b));
}
