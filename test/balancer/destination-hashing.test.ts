/**
 * dh follows Linux 6.x net/netfilter/ipvs/ip_vs_dh.c: 256 buckets holding the backends in list
 * order, cycling, weights ignored; bucket = hash_32(addr, 8), the top 8 bits of
 * (addr × 0x61C88647) mod 2^32 (include/linux/hash.h), IPv6 folded by XOR of its four words;
 * an unavailable or weight-0 bucket backend means no backend. Expected buckets are computed
 * here with BigInt, apart from the code under test, and checked against literal vectors.
 */
import assert from "node:assert/strict";
import { test } from "node:test";
import { fnv1a32 } from "../../src/balancer/common/hash.js";
import { destinationHashing } from "../../src/balancer/destination-hashing.js";
import { makeBackends, makeContext, TestBackend } from "./fixtures.js";
import { churn, ipv4Value, ipvsBucketOf } from "./hash-fixtures.js";

function setup(weights: number[]) {
  const backends = makeBackends(weights);
  const balancer = destinationHashing.create();
  balancer.update(backends);
  const pick = (key: string) => balancer.pick(makeContext(1, 0, key));
  return { backends, balancer, pick };
}

test("keys map to bucket hash_32(addr, 8) of current kernels: 10.0.0.2 over [A, B] gives B", () => {
  // Literal vectors, worked out by hand from hash_32: the older (addr × 2654435761) & 0xff
  // gives buckets 98, 177, 61 and 233 for these keys, so 10.0.0.2 went to A.
  assert.equal(ipvsBucketOf(ipv4Value("10.0.0.2")), 137);
  assert.equal(ipvsBucketOf(ipv4Value("10.0.0.1")), 39);
  assert.equal(ipvsBucketOf(ipv4Value("192.168.1.77")), 144);
  assert.equal(ipvsBucketOf(0x20010db8n ^ 1n), 63);
  const a = new TestBackend("A", 1);
  const b = new TestBackend("B", 1);
  const balancer = destinationHashing.create();
  balancer.update([a, b]);
  assert.equal(balancer.pick(makeContext(1, 0, "10.0.0.2")), b, "bucket 137 is odd: B");
  assert.equal(balancer.pick(makeContext(1, 0, "10.0.0.1")), b, "bucket 39 is odd: B");
  assert.equal(balancer.pick(makeContext(1, 0, "192.168.1.77")), a, "bucket 144 is even: A");
  const seven = makeBackends([1, 1, 1, 1, 1, 1, 1]);
  balancer.update(seven);
  assert.equal(balancer.pick(makeContext(1, 0, "2001:db8::1")), seven[63 % 7]);
});

test("IPv4 keys map to bucket hash_32(addr, 8), bucket i holding backend i mod n", () => {
  const { backends, pick } = setup([1, 1, 1, 1, 1]);
  for (const key of [
    "10.1.2.3",
    "192.168.0.77",
    "172.16.5.250",
    "8.8.8.8",
    "10.0.0.0",
    "1.2.3.255",
  ]) {
    const bucket = ipvsBucketOf(ipv4Value(key));
    assert.equal(pick(key), backends[bucket % 5], key);
  }
});

test("weights are ignored for bucket assignment", () => {
  const { backends, pick } = setup([5, 1, 3]);
  const seen = new Map<string, number>();
  const covered = new Set<number>();
  // One key per bucket: the 256 buckets then hold 86, 85, 85 of the three backends.
  for (let i = 0; covered.size < 256 && i < 65536; i++) {
    const key = `10.9.${i >> 8}.${i & 255}`;
    const bucket = ipvsBucketOf(ipv4Value(key));
    if (covered.has(bucket)) continue;
    covered.add(bucket);
    const chosen = pick(key);
    assert.equal(chosen, backends[bucket % 3], key);
    seen.set(chosen?.id ?? "", (seen.get(chosen?.id ?? "") ?? 0) + 1);
  }
  assert.equal(covered.size, 256);
  assert.deepEqual(
    backends.map((b) => seen.get(b.id)),
    [86, 85, 85],
  );
});

test("IPv6 keys fold the four 32-bit words by XOR", () => {
  const { backends, pick } = setup([1, 1, 1, 1, 1, 1, 1]);
  const cases: [string, bigint][] = [
    ["2001:db8::1", 0x20010db8n ^ 0n ^ 0n ^ 1n],
    ["2001:db8:85a3::8a2e:370:7334", 0x20010db8n ^ 0x85a30000n ^ 0x8a2en ^ 0x03707334n],
    ["fe80::dead:beef", 0xfe800000n ^ 0xdeadbeefn],
  ];
  for (const [key, folded] of cases) {
    assert.equal(pick(key), backends[ipvsBucketOf(folded) % 7], key);
  }
});

test("an unavailable or weight-0 bucket backend gives no backend: dh never falls back", () => {
  const { backends, balancer, pick } = setup([1, 1, 1]);
  const key = "10.1.2.3";
  const owner = backends[ipvsBucketOf(ipv4Value(key)) % 3];
  owner.available = false;
  assert.equal(pick(key), undefined);
  owner.available = true;
  owner.weight = 0;
  balancer.update(backends);
  assert.equal(pick(key), undefined);
});

test("a key that is not an address is hashed with FNV-1a first", () => {
  const { backends, pick } = setup([1, 1, 1, 1]);
  for (const key of ["session-42", "/images/logo.png", ""]) {
    const bucket = ipvsBucketOf(BigInt(fnv1a32(key)));
    assert.equal(pick(key), backends[bucket % 4], key);
  }
});

test("copes with an empty pool and with membership changes at any time", () => {
  assert.ok(churn(destinationHashing) > 0);
});
