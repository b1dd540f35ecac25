/**
 * Helpers shared by the hashing and locality algorithm tests: an independent model of the
 * IPVS address hash, and a churn run that checks the contract under membership changes.
 */
import assert from "node:assert/strict";
import type { AlgorithmInfo, BalancerOptions } from "../../src/balancer/types.js";
import { makeBackends, seededRandom, type TestBackend } from "./fixtures.js";

/** include/linux/hash.h (Linux 6.x): GOLDEN_RATIO_32, the multiplier of hash_32. */
export const KERNEL_GOLDEN_RATIO_32 = 0x61c88647n;

/**
 * The bucket of ip_vs_dh_hashkey / ip_vs_sh_hashkey in Linux 6.x net/netfilter/ipvs:
 * `(offset + hash_32(address, 8)) & 0xff`, where hash_32 keeps the top 8 bits of
 * `address × GOLDEN_RATIO_32 mod 2^32`. Computed with BigInt, apart from the code under test.
 */
export function ipvsBucketOf(address: bigint, offset = 0n): number {
  const product = (address * KERNEL_GOLDEN_RATIO_32) % 2n ** 32n;
  return Number((offset + (product >> 24n)) & 0xffn);
}

/** An IPv4 dotted quad as a BigInt. */
export function ipv4Value(text: string): bigint {
  return text.split(".").reduce((value, octet) => value * 256n + BigInt(octet), 0n);
}

/**
 * Picks with random keys while backends are added, removed, re-weighted, marked down and
 * loaded, asserting that no pick returns a backend that is unavailable, of weight 0 or not
 * in the current list. Returns how many picks found a backend.
 */
export function churn(info: AlgorithmInfo, options: BalancerOptions = {}, rounds = 300): number {
  const random = seededRandom(7);
  const balancer = info.create(options);
  let backends: TestBackend[] = [];
  let served = 0;
  let next = 0;
  balancer.update(backends);
  assert.equal(balancer.pick({ now: 0, random, key: "10.0.0.1" }), undefined, "empty pool");
  for (let round = 0; round < rounds; round++) {
    const action = Math.floor(random() * 6);
    if (action === 0 || backends.length < 2) {
      backends = [...backends, ...makeBackends([1 + Math.floor(random() * 3)], `n${next++}-`)];
    } else if (action === 1) {
      backends = backends.filter((_, i) => i !== Math.floor(random() * backends.length));
    } else if (action === 2) {
      backends[Math.floor(random() * backends.length)].weight = Math.floor(random() * 3);
    } else if (action === 3) {
      const target = backends[Math.floor(random() * backends.length)];
      target.available = !target.available;
    } else {
      backends[Math.floor(random() * backends.length)].active += Math.floor(random() * 4);
    }
    // Availability and load change between updates too, as the contract allows.
    if (action !== 3 && action !== 4) balancer.update(backends);
    const now = round * 60_000;
    for (let i = 0; i < 20; i++) {
      const key = `10.${round & 255}.${i}.${Math.floor(random() * 256)}`;
      const chosen = balancer.pick({ now, random, key });
      if (chosen === undefined) continue;
      served++;
      assert.ok(backends.includes(chosen as TestBackend), `${info.name}: picked a removed backend`);
      assert.ok(chosen.available, `${info.name}: picked an unavailable backend`);
      assert.ok(chosen.weight > 0, `${info.name}: picked a backend of weight 0`);
    }
  }
  return served;
}
