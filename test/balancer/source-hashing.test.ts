/**
 * sh follows Linux 6.x net/netfilter/ipvs/ip_vs_sh.c: 256 buckets filled by weight
 * (ip_vs_sh_reassign), bucket = (offset + hash_32(port + addr, 8)) & 0xff (ip_vs_sh_hashkey,
 * hash_32 from include/linux/hash.h: the top 8 bits of the product with 0x61C88647),
 * sh-fallback as ip_vs_sh_get_fallback. The expected table and buckets are computed here
 * independently and checked against literal vectors.
 */
import assert from "node:assert/strict";
import { test } from "node:test";
import { sourceHashing } from "../../src/balancer/source-hashing.js";
import type { BalancerOptions } from "../../src/balancer/types.js";
import { makeBackends, makeContext, TestBackend } from "./fixtures.js";
import { churn, ipv4Value, ipvsBucketOf } from "./hash-fixtures.js";

/** The kernel's fill: each backend takes `weight` consecutive buckets (at least one). */
function expectedTable(backends: TestBackend[]): TestBackend[] {
  const table: TestBackend[] = [];
  let index = 0;
  while (table.length < 256) {
    const backend = backends[index % backends.length];
    for (let k = 0; k < Math.max(1, backend.weight) && table.length < 256; k++) table.push(backend);
    index++;
  }
  return table;
}

function setup(weights: number[], options: BalancerOptions = {}) {
  const backends = makeBackends(weights);
  const balancer = sourceHashing.create(options);
  balancer.update(backends);
  const pick = (key: string) => balancer.pick(makeContext(1, 0, key));
  return { backends, balancer, pick, table: expectedTable(backends) };
}

test("keys map to (offset + hash_32(port + addr, 8)) & 0xff: 10.0.0.2 over [A, B] gives B", () => {
  // Literal vectors, worked out by hand from hash_32: the older (addr × 2654435761) & 0xff
  // gives buckets 98, 177 and 162 for these keys, so 10.0.0.2 went to A.
  assert.equal(ipvsBucketOf(ipv4Value("10.0.0.2")), 137);
  assert.equal(ipvsBucketOf(ipv4Value("10.0.0.1")), 39);
  assert.equal(ipvsBucketOf(ipv4Value("10.0.0.2") + 40000n), 45, "sh-port: port + addr");
  const a = new TestBackend("A", 1);
  const b = new TestBackend("B", 1);
  for (const options of [
    {},
    { fallback: true },
    { hashPort: true },
    { hashPort: true, fallback: true },
  ]) {
    const balancer = sourceHashing.create(options);
    balancer.update([a, b]);
    const pick = (key: string) => balancer.pick(makeContext(1, 0, key));
    const label = JSON.stringify(options);
    if (options.hashPort === true) {
      assert.equal(pick("10.0.0.2:0"), b, `${label}: bucket 137 is odd`);
      assert.equal(pick("10.0.0.2:40000"), b, `${label}: bucket 45 is odd`);
    } else {
      assert.equal(pick("10.0.0.2"), b, `${label}: bucket 137 is odd`);
      assert.equal(pick("10.0.0.1"), b, `${label}: bucket 39 is odd`);
    }
  }
  // Weighted: [A w3, B w1] fills A A A B, so bucket 137 (137 mod 4 = 1) is A, 39 is B.
  const weighted = sourceHashing.create();
  weighted.update([new TestBackend("A", 3), new TestBackend("B", 1)]);
  assert.equal(weighted.pick(makeContext(1, 0, "10.0.0.2"))?.id, "A");
  assert.equal(weighted.pick(makeContext(1, 0, "10.0.0.1"))?.id, "B");
});

test("sh-fallback probes (offset + hash_32(addr, 8)) & 0xff from the original bucket", () => {
  // [A, B, C] with B down: 10.0.0.10 hashes to bucket 151 (151 mod 3 = 1: B). The probe at
  // offset 0 reaches (151 + 151) & 0xff = 46 (B again), at offset 1 bucket 47: C. The older
  // hash gave bucket 234, which is A's.
  const a = new TestBackend("A", 1);
  const b = new TestBackend("B", 1, { available: false });
  const c = new TestBackend("C", 1);
  const balancer = sourceHashing.create({ fallback: true });
  balancer.update([a, b, c]);
  const address = ipv4Value("10.0.0.10");
  assert.deepEqual(
    [ipvsBucketOf(address), ipvsBucketOf(address, 151n), ipvsBucketOf(address, 152n)],
    [151, 46, 47],
  );
  assert.equal(balancer.pick(makeContext(1, 0, "10.0.0.10")), c);
});

test("the table is filled by weight: each backend takes weight consecutive buckets", () => {
  const { backends, pick, table } = setup([3, 1, 2]);
  const buckets = new Map<string, number>();
  const covered = new Set<number>();
  // One key per bucket, so the counts are those of the table itself.
  for (let i = 0; covered.size < 256 && i < 65536; i++) {
    const key = `192.168.${i >> 8}.${i & 255}`;
    const bucket = ipvsBucketOf(ipv4Value(key));
    if (covered.has(bucket)) continue;
    covered.add(bucket);
    const chosen = pick(key);
    assert.equal(chosen, table[bucket], key);
    buckets.set(chosen?.id ?? "", (buckets.get(chosen?.id ?? "") ?? 0) + 1);
  }
  assert.equal(covered.size, 256);
  // 42 full cycles of 6 buckets, then b0 takes 3 more and b1 one: 129, 43, 84.
  assert.deepEqual(
    backends.map((b) => buckets.get(b.id)),
    [129, 43, 84],
  );
});

test("IPv4 and IPv6 keys map to the kernel's buckets", () => {
  const { pick, table } = setup([2, 1, 1, 3]);
  assert.equal(pick("10.1.2.3"), table[ipvsBucketOf(ipv4Value("10.1.2.3"))]);
  assert.equal(pick("2001:db8::1"), table[ipvsBucketOf(0x20010db8n ^ 1n)]);
  assert.equal(pick("[2001:db8::1]:80"), table[ipvsBucketOf(0x20010db8n ^ 1n)], "port ignored");
});

test("sh-port adds the source port to the address before multiplying", () => {
  const { pick, table } = setup([1, 2, 3, 4], { hashPort: true });
  for (const [address, port] of [
    ["10.1.2.3", 5555],
    ["10.1.2.3", 5556],
    ["172.16.0.9", 443],
  ] as const) {
    const bucket = ipvsBucketOf(ipv4Value(address) + BigInt(port));
    assert.equal(pick(`${address}:${port}`), table[bucket], `${address}:${port}`);
  }
  assert.equal(pick("[2001:db8::1]:7"), table[ipvsBucketOf((0x20010db8n ^ 1n) + 7n)]);
});

test("without fallback an unavailable bucket backend gives no backend", () => {
  const { pick, table } = setup([1, 1, 1]);
  const key = "10.1.2.3";
  table[ipvsBucketOf(ipv4Value(key))].available = false;
  assert.equal(pick(key), undefined);
});

test("sh-fallback probes the following hash offsets, as ip_vs_sh_get_fallback", () => {
  const { backends, pick, table } = setup([1, 1, 1, 1, 1], { fallback: true });
  backends[1].available = false;
  backends[2].weight = 0; // quiesced without an update: still in the table, never chosen
  for (let octet = 0; octet < 256; octet++) {
    const key = `10.20.30.${octet}`;
    const address = ipv4Value(key);
    const first = ipvsBucketOf(address);
    let expected: TestBackend | undefined = table[first];
    if (!expected.available || expected.weight <= 0) {
      expected = undefined;
      for (let offset = 0; offset < 256 && expected === undefined; offset++) {
        const candidate = table[ipvsBucketOf(address, BigInt((offset + first) % 256))];
        if (candidate.available && candidate.weight > 0) expected = candidate;
      }
    }
    const chosen = pick(key);
    assert.equal(chosen, expected, key);
    assert.ok(chosen !== backends[1] && chosen !== backends[2]);
  }
  for (const backend of backends) backend.available = false;
  assert.equal(pick("10.20.30.1"), undefined);
});

test("weight 0 still takes one bucket, as in the kernel, but is never returned", () => {
  const { backends, pick, table } = setup([0, 2]);
  assert.equal(table[0], backends[0]);
  const key = [...Array(65536).keys()]
    .map((i) => `10.0.${i >> 8}.${i & 255}`)
    .find((k) => ipvsBucketOf(ipv4Value(k)) === 0);
  assert.ok(key);
  assert.equal(pick(key), undefined);
});

test("copes with an empty pool and with membership changes at any time", () => {
  assert.ok(churn(sourceHashing) > 0);
  assert.ok(churn(sourceHashing, { fallback: true, hashPort: true }) > 0);
});
