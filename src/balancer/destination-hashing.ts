/**
 * Destination hashing (IPVS `dh`), after Linux 6.x net/netfilter/ipvs/ip_vs_dh.c: 256
 * buckets, bucket `i` holding the `i`-th backend cycling through the list, weights ignored.
 * A key maps to bucket `hash_32(addr, 8)`, the top 8 bits of `addr × 0x61C88647 mod 2^32`
 * (include/linux/hash.h), where addr is the IPv4 address in host order or the XOR of an IPv6
 * address's four words. A key that is not an address is hashed to 32 bits with FNV-1a first.
 * The bucket's backend is used only when it is available, not overloaded and of positive
 * weight; otherwise there is no backend: dh never falls back.
 */
import { IPVS_HASH_BUCKETS, ipvsBucket, ipvsHashInput, newParsedAddress } from "./common/hash.js";
import { isSchedulable } from "./common/schedulable.js";
import type { AlgorithmInfo, Backend, Balancer, PickContext } from "./types.js";

class DestinationHashing<B extends Backend> implements Balancer<B> {
  readonly name = "dh";
  /** The 256 buckets; empty when the pool is. */
  private table: B[] = [];
  private readonly parsed = newParsedAddress();

  update(backends: readonly B[]): void {
    const n = backends.length;
    const table: B[] = [];
    if (n > 0) {
      for (let i = 0; i < IPVS_HASH_BUCKETS; i++) table.push(backends[i % n]);
    }
    this.table = table;
  }

  pick(context: PickContext): B | undefined {
    if (this.table.length === 0) return undefined;
    const input = ipvsHashInput(context.key ?? "", this.parsed, false);
    const backend = this.table[ipvsBucket(input, 0)];
    return isSchedulable(backend) ? backend : undefined;
  }
}

export const destinationHashing: AlgorithmInfo = {
  name: "dh",
  description:
    "destination hashing: 256 buckets by address, weights ignored, no fallback (IPVS dh)",
  usesKey: true,
  weighted: false,
  create: () => new DestinationHashing(),
};
