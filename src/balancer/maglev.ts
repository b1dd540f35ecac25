/**
 * Maglev hashing (Eisenbud et al., NSDI 2016, section 3.4). The lookup table has a prime
 * size M (65537 by default). Each backend of positive weight has a preference list, a
 * permutation of the slots: `offset = h1(id) mod M`, `skip = h2(id) mod (M − 1) + 1`,
 * preference j = `(offset + j × skip) mod M`. Backends take turns claiming their next
 * preferred empty slot until the table is full; with equal weights every backend gets M / N
 * slots within one. Weighted variant: every round each backend earns `weight / maxWeight`
 * turns and spends whole ones, so slots follow the weights. A lookup is one key hash (the
 * `hash` option, xxHash32 by default) and one array read.
 *
 * Unavailable backends keep their slots; the choice here is to **probe the next slots** at
 * pick time rather than rebuild. The pool calls `update` on every health, drain and overload
 * change, and a 65537-slot rebuild on each flip of a backend's overload flag would cost more
 * than the lookups it serves. Probing also disturbs less: only keys on the unavailable
 * backend move (to the owners of the following slots, which are spread over the others), and
 * they move back when it returns. The table is rebuilt only when membership or a weight
 * changes. After 32 unavailable slots in a row the pick falls back to a scan of the list
 * from a key-derived start, so it stays deterministic and never loops over the whole table.
 */

import { hashFunction, murmur3_32, type StringHash, xxhash32 } from "./common/hash.js";
import { MembershipSnapshot } from "./common/hash-ring.js";
import { isSchedulable } from "./common/schedulable.js";
import type { AlgorithmInfo, Backend, Balancer, BalancerOptions, PickContext } from "./types.js";

/** The paper's table size: a prime well above 100 × the backends of a typical pool. */
export const DEFAULT_TABLE_SIZE = 65537;
/** Largest table accepted: 16 M slots (about 128 MB of references). */
const MAX_TABLE_SIZE = 1 << 24;
/** Unavailable slots probed before scanning the backend list instead. */
const PROBE_LIMIT = 32;

class Maglev<B extends Backend> implements Balancer<B> {
  readonly name = "maglev";
  readonly tableSize: number;
  private readonly hash: StringHash;
  private readonly snapshot = new MembershipSnapshot<B>();
  private backends: readonly B[] = [];
  /** Slot → backend; empty when no backend has positive weight. */
  private table: B[] = [];

  constructor(options: BalancerOptions) {
    this.tableSize = checkTableSize(options.tableSize ?? DEFAULT_TABLE_SIZE);
    this.hash = hashFunction(options.hash ?? "xxhash32");
  }

  update(backends: readonly B[]): void {
    this.backends = backends;
    if (this.snapshot.changed(backends)) this.table = populate(backends, this.tableSize);
  }

  pick(context: PickContext): B | undefined {
    const table = this.table;
    if (table.length === 0) return undefined;
    const hash = this.hash(context.key ?? "");
    const slot = hash % this.tableSize;
    const backend = table[slot];
    if (isSchedulable(backend)) return backend;
    return this.fallback(slot, hash);
  }

  private fallback(slot: number, hash: number): B | undefined {
    const table = this.table;
    const size = this.tableSize;
    for (let probe = 1; probe <= PROBE_LIMIT; probe++) {
      const backend = table[(slot + probe) % size];
      if (isSchedulable(backend)) return backend;
    }
    const list = this.backends;
    const n = list.length;
    const start = hash % n;
    for (let i = 0; i < n; i++) {
      const backend = list[(start + i) % n];
      if (isSchedulable(backend)) return backend;
    }
    return undefined;
  }
}

/** The table size if it is a prime within bounds; otherwise an error that says what fits. */
function checkTableSize(size: number): number {
  if (!Number.isInteger(size) || size < 3 || size > MAX_TABLE_SIZE) {
    throw new Error(
      `maglev: table_size must be a prime between 3 and ${MAX_TABLE_SIZE}, got ${size}`,
    );
  }
  if (!isPrime(size)) {
    throw new Error(
      `maglev: table_size must be a prime number so every preference list visits every slot; ` +
        `${size} is not (nearest primes: ${previousPrime(size)}, ${nextPrime(size)})`,
    );
  }
  return size;
}

/** True when `n` is a prime (trial division; table sizes are small). */
export function isPrime(n: number): boolean {
  if (n < 2 || !Number.isInteger(n)) return false;
  if (n % 2 === 0) return n === 2;
  for (let d = 3; d * d <= n; d += 2) if (n % d === 0) return false;
  return true;
}

function nextPrime(n: number): number {
  let candidate = n + 1;
  while (!isPrime(candidate)) candidate++;
  return candidate;
}

function previousPrime(n: number): number {
  let candidate = n - 1;
  while (candidate > 2 && !isPrime(candidate)) candidate--;
  return candidate;
}

/**
 * The paper's Populate with weighted turns. Backends of weight 0 take no slots; the others
 * claim slots in list order each round.
 */
export function populate<B extends Backend>(backends: readonly B[], size: number): B[] {
  const eligible = backends.filter((backend) => backend.weight > 0);
  const n = eligible.length;
  if (n === 0) return [];
  let maxWeight = 0;
  for (const backend of eligible) maxWeight = Math.max(maxWeight, backend.weight);
  const position = new Uint32Array(n);
  const skip = new Uint32Array(n);
  const share = new Float64Array(n);
  const credit = new Float64Array(n);
  for (let i = 0; i < n; i++) {
    const id = eligible[i].id;
    position[i] = xxhash32(id) % size;
    skip[i] = (murmur3_32(id) % (size - 1)) + 1;
    share[i] = eligible[i].weight / maxWeight;
  }
  const owner = new Int32Array(size).fill(-1);
  let filled = 0;
  while (filled < size) {
    for (let i = 0; i < n && filled < size; i++) {
      credit[i] += share[i];
      while (credit[i] >= 1 && filled < size) {
        credit[i] -= 1;
        // Walk this backend's permutation to its next preferred slot that is still empty.
        let slot = position[i];
        while (owner[slot] >= 0) {
          slot += skip[i];
          if (slot >= size) slot -= size;
        }
        owner[slot] = i;
        slot += skip[i];
        position[i] = slot >= size ? slot - size : slot;
        filled++;
      }
    }
  }
  const table: B[] = new Array(size);
  for (let slot = 0; slot < size; slot++) table[slot] = eligible[owner[slot]];
  return table;
}

export const maglev: AlgorithmInfo = {
  name: "maglev",
  description: "Maglev hashing: a prime-sized lookup table, even spread, small disruption",
  usesKey: true,
  weighted: true,
  create: (options = {}) => new Maglev(options),
};
