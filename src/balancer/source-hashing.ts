/**
 * Source hashing (IPVS `sh`), after Linux 6.x net/netfilter/ipvs/ip_vs_sh.c: 256 buckets
 * filled by weight (each backend takes `weight` consecutive buckets, cycling through the list
 * until all are filled; a backend of weight 0 still takes one, as in ip_vs_sh_reassign). A
 * key maps to bucket `(offset + hash_32(port + addr, 8)) & 0xff` (ip_vs_sh_hashkey): the top
 * 8 bits of `(port + addr) × 0x61C88647 mod 2^32`, the address folded as in dh and in host
 * order, the port 0 unless sh-port, the offset 0 unless probing. A key that is not an address
 * is hashed to 32 bits with FNV-1a first.
 *
 * Options: `hashPort` (sh-port) adds the source port to the address before hashing, so the
 * key must be "addr:port" or "[v6]:port"; `fallback` (sh-fallback) probes the following
 * hash offsets when the bucket's backend is unavailable, exactly as ip_vs_sh_get_fallback.
 * Without fallback an unavailable backend means no backend. Unavailable here means, as the
 * kernel's is_unavailable: down, overloaded or of weight 0.
 */
import { IPVS_HASH_BUCKETS, ipvsBucket, ipvsHashInput, newParsedAddress } from "./common/hash.js";
import { isSchedulable } from "./common/schedulable.js";
import type { AlgorithmInfo, Backend, Balancer, BalancerOptions, PickContext } from "./types.js";

class SourceHashing<B extends Backend> implements Balancer<B> {
  readonly name = "sh";
  private readonly hashPort: boolean;
  private readonly fallback: boolean;
  /** The 256 buckets; empty when the pool is. */
  private table: B[] = [];
  private readonly parsed = newParsedAddress();

  constructor(options: BalancerOptions) {
    this.hashPort = options.hashPort ?? false;
    this.fallback = options.fallback ?? false;
  }

  update(backends: readonly B[]): void {
    this.table = fillByWeight(backends);
  }

  pick(context: PickContext): B | undefined {
    const table = this.table;
    if (table.length === 0) return undefined;
    const input = ipvsHashInput(context.key ?? "", this.parsed, this.hashPort);
    const first = ipvsBucket(input, 0);
    const backend = table[first];
    if (isSchedulable(backend)) return backend;
    if (!this.fallback) return undefined;
    // Loop around the table starting from the original hash, re-hashing with each offset.
    for (let offset = 0; offset < IPVS_HASH_BUCKETS; offset++) {
      const next = table[ipvsBucket(input, (offset + first) % IPVS_HASH_BUCKETS)];
      if (isSchedulable(next)) return next;
    }
    return undefined;
  }
}

/** ip_vs_sh_reassign: walk the list, giving each backend `weight` buckets in a row. */
function fillByWeight<B extends Backend>(backends: readonly B[]): B[] {
  const table: B[] = [];
  if (backends.length === 0) return table;
  let index = 0;
  let taken = 0;
  for (let i = 0; i < IPVS_HASH_BUCKETS; i++) {
    const backend = backends[index];
    table.push(backend);
    if (++taken >= backend.weight) {
      index = (index + 1) % backends.length;
      taken = 0;
    }
  }
  return table;
}

export const sourceHashing: AlgorithmInfo = {
  name: "sh",
  description: "source hashing: 256 buckets filled by weight, optional port and fallback (IPVS sh)",
  usesKey: true,
  weighted: true,
  create: (options = {}) => new SourceHashing(options),
};
