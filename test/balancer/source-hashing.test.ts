/**
 * sh follows net/netfilter/ipvs/ip_vs_sh.c: 256 buckets filled by weight (ip_vs_sh_reassign),
 * bucket = (offset + (port + addr) × 2654435761) & 0xff (ip_vs_sh_hashkey), sh-fallback as
 * ip_vs_sh_get_fallback. The expected table and buckets are computed here independently.
 */
import assert from "node:assert/strict";
import { test } from "node:test";
import { sourceHashing } from "../../src/balancer/source-hashing.js";
import type { BalancerOptions } from "../../src/balancer/types.js";
import { makeBackends, makeContext, type TestBackend } from "./fixtures.js";
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

test("the table is filled by weight: each backend takes weight consecutive buckets", () => {
  const { backends, pick, table } = setup([3, 1, 2]);
  const buckets = new Map<string, number>();
  for (let octet = 0; octet < 256; octet++) {
    const key = `192.168.1.${octet}`;
    const chosen = pick(key);
    assert.equal(chosen, table[ipvsBucketOf(ipv4Value(key))], key);
    buckets.set(chosen?.id ?? "", (buckets.get(chosen?.id ?? "") ?? 0) + 1);
  }
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
  const key = [...Array(256).keys()]
    .map((octet) => `10.0.0.${octet}`)
    .find((k) => ipvsBucketOf(ipv4Value(k)) === 0);
  assert.ok(key);
  assert.equal(pick(key), undefined);
});

test("copes with an empty pool and with membership changes at any time", () => {
  assert.ok(churn(sourceHashing) > 0);
  assert.ok(churn(sourceHashing, { fallback: true, hashPort: true }) > 0);
});
