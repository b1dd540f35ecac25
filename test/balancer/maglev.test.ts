/**
 * maglev follows Eisenbud et al., "Maglev: A Fast and Reliable Software Network Load
 * Balancer" (NSDI 2016), section 3.4: a prime table size; each backend fills its next
 * preferred empty slot in turn; every backend gets M / N slots within one; removing a
 * backend moves its slots and only a small extra fraction of the others.
 */
import assert from "node:assert/strict";
import { test } from "node:test";
import { isPrime, maglev, populate } from "../../src/balancer/maglev.js";
import type { Backend } from "../../src/balancer/types.js";
import { poolSchema } from "../../src/config/schema/pool.js";
import { makeBackends, seededRandom } from "./fixtures.js";
import { churn } from "./hash-fixtures.js";

const M = 65537;

function slotCounts(table: readonly Backend[]): Map<Backend, number> {
  const counts = new Map<Backend, number>();
  for (const backend of table) counts.set(backend, (counts.get(backend) ?? 0) + 1);
  return counts;
}

for (const n of [3, 10, 100, 1000]) {
  test(`equal weights: each of ${n} backends gets M / N slots within one`, () => {
    const backends = makeBackends(Array(n).fill(1));
    const table = populate(backends, M);
    assert.equal(table.length, M);
    const counts = slotCounts(table);
    assert.equal(counts.size, n);
    for (const count of counts.values()) {
      assert.ok(count === Math.floor(M / n) || count === Math.ceil(M / n), `count ${count}`);
    }
  });
}

test("removing one of 100 backends moves its slots and under 1% of the others", () => {
  const backends = makeBackends(Array(100).fill(1));
  const before = populate(backends, M);
  const removed = backends[42];
  const after = populate(
    backends.filter((b) => b !== removed),
    M,
  );
  let others = 0;
  for (let slot = 0; slot < M; slot++) {
    if (before[slot] === removed) assert.notEqual(after[slot], removed);
    else if (before[slot] !== after[slot]) others++;
  }
  assert.ok(others / M < 0.01, `extra disruption ${others / M}`);
});

test("weights give turns in proportion: 1, 2, 3 take 1/6, 2/6, 3/6 of the slots", () => {
  const backends = makeBackends([1, 2, 3]);
  const counts = slotCounts(populate(backends, M));
  backends.forEach((backend, i) => {
    const share = (counts.get(backend) ?? 0) / M;
    assert.ok(Math.abs(share - (i + 1) / 6) < 0.002, `${backend.id} share ${share}`);
  });
});

test("weight-0 backends take no slots", () => {
  const backends = makeBackends([1, 0, 1]);
  assert.equal(slotCounts(populate(backends, 7)).get(backends[1]), undefined);
});

test("the table size must be prime, with a clear error", () => {
  assert.throws(
    () => maglev.create({ tableSize: 65536 }),
    /prime.*65536 is not \(nearest primes: 65521, 65537\)/,
  );
  assert.throws(() => maglev.create({ tableSize: 1 }), /prime/);
  assert.doesNotThrow(() => maglev.create({ tableSize: 7 }));
  assert.ok(isPrime(65537) && isPrime(2) && !isPrime(1) && !isPrime(65535));
});

test("a non-prime table_size is a config error at options.table_size", () => {
  const parse = (size: number) =>
    poolSchema.safeParse({ algorithm: "maglev", options: { table_size: size } });
  const bad = parse(65536);
  assert.equal(bad.success, false);
  assert.deepEqual(bad.error?.issues[0].path, ["options", "table_size"]);
  assert.match(bad.error?.issues[0].message ?? "", /prime/);
  assert.equal(parse(65537).success, true);
});

test("a key maps to its slot; an unavailable slot owner sends only its keys elsewhere", () => {
  const backends = makeBackends(Array(20).fill(1));
  const balancer = maglev.create();
  balancer.update(backends);
  const random = seededRandom(3);
  const keys = Array.from({ length: 5000 }, (_, i) => `10.0.${i >> 8}.${i & 255}`);
  const before = keys.map((key) => balancer.pick({ now: 0, random, key }));
  backends[7].available = false; // no update: read at pick time
  keys.forEach((key, i) => {
    const chosen = balancer.pick({ now: 0, random, key });
    if (before[i] === backends[7]) assert.ok(chosen && chosen !== backends[7]);
    else assert.equal(chosen, before[i]);
  });
  backends[7].available = true;
  keys.forEach((key, i) => {
    assert.equal(balancer.pick({ now: 0, random, key }), before[i]);
  });
});

test("finds the last available backend even when almost all are down", () => {
  const backends = makeBackends(Array(200).fill(1));
  const balancer = maglev.create({ tableSize: 2003 });
  balancer.update(backends);
  for (const backend of backends) backend.available = false;
  backends[123].available = true;
  const random = seededRandom(1);
  for (let i = 0; i < 100; i++) {
    assert.equal(balancer.pick({ now: 0, random, key: `k${i}` }), backends[123]);
  }
  backends[123].available = false;
  assert.equal(balancer.pick({ now: 0, random, key: "k" }), undefined);
});

test("copes with an empty pool and with membership changes at any time", () => {
  assert.ok(churn(maglev, { tableSize: 251 }) > 0);
});
