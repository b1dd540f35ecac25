/**
 * chash follows consistent hashing (Karger et al. 1997) as libketama builds it: vnodes ×
 * weight points per backend, a key to the first point at or after its hash, wrapping.
 * Removing one of N backends moves about 1/N of the keys, and only keys that were on it.
 * With `hash: md5` the ring is computed here independently, from MD5 digests as ketama does.
 */
import assert from "node:assert/strict";
import { createHash } from "node:crypto";
import { test } from "node:test";
import {
  buildHashRing,
  MAX_RING_POINTS,
  RingPointCache,
} from "../../src/balancer/common/hash-ring.js";
import { consistentHashRing } from "../../src/balancer/consistent-hash-ring.js";
import type { Backend, BalancerOptions } from "../../src/balancer/types.js";
import { makeBackends, seededRandom, type TestBackend } from "./fixtures.js";
import { churn } from "./hash-fixtures.js";

const KEYS = Array.from({ length: 20_000 }, (_, i) => `user-${i}`);

function assignments(
  backends: TestBackend[],
  options: BalancerOptions = {},
): Map<string, Backend | undefined> {
  const balancer = consistentHashRing.create(options);
  balancer.update(backends);
  const random = seededRandom(1);
  return new Map(KEYS.map((key) => [key, balancer.pick({ now: 0, random, key })]));
}

for (const hash of ["xxhash32", "md5"] as const) {
  test(`removing one of 10 backends moves about 1/10 of keys, all from it (${hash})`, () => {
    const backends = makeBackends(Array(10).fill(1));
    const before = assignments(backends, { hash });
    const removed = backends[3];
    const after = assignments(
      backends.filter((b) => b !== removed),
      { hash },
    );
    let moved = 0;
    for (const key of KEYS) {
      if (before.get(key) === after.get(key)) continue;
      moved++;
      assert.equal(before.get(key), removed, `${key} moved but was not on the removed backend`);
    }
    const onRemoved = [...before.values()].filter((b) => b === removed).length;
    assert.equal(moved, onRemoved, "every key of the removed backend moved");
    const fraction = moved / KEYS.length;
    assert.ok(fraction > 0.06 && fraction < 0.14, `moved fraction ${fraction}`);
  });
}

test("an unavailable backend's keys walk on to the next points; other keys stay", () => {
  const backends = makeBackends(Array(8).fill(1));
  const balancer = consistentHashRing.create();
  balancer.update(backends);
  const random = seededRandom(1);
  const before = KEYS.map((key) => balancer.pick({ now: 0, random, key }));
  backends[5].available = false; // no update: availability is read at pick time
  const spread = new Set<Backend | undefined>();
  KEYS.forEach((key, i) => {
    const now = balancer.pick({ now: 0, random, key });
    if (before[i] === backends[5]) {
      assert.notEqual(now, backends[5]);
      spread.add(now);
    } else {
      assert.equal(now, before[i]);
    }
  });
  assert.ok(spread.size >= 4, "the unavailable backend's keys spread over several others");
});

test("weights scale the points: weight 3 gets about three times the keys of weight 1", () => {
  const backends = makeBackends([1, 3, 1, 1]);
  const counts = new Map<Backend | undefined, number>();
  for (const backend of assignments(backends).values()) {
    counts.set(backend, (counts.get(backend) ?? 0) + 1);
  }
  const share = (counts.get(backends[1]) ?? 0) / KEYS.length;
  assert.ok(share > 0.42 && share < 0.58, `weight-3 share ${share} (ideal 0.5)`);
});

test("raising one backend's weight moves keys only onto it, and back when lowered", () => {
  const backends = makeBackends([1, 1, 1, 1, 1]);
  const balancer = consistentHashRing.create();
  balancer.update(backends);
  const random = seededRandom(1);
  const pickAll = () => KEYS.map((key) => balancer.pick({ now: 0, random, key }));
  const before = pickAll();
  backends[2].weight = 2;
  balancer.update(backends);
  const raised = pickAll();
  let moved = 0;
  raised.forEach((backend, i) => {
    if (backend === before[i]) return;
    moved++;
    assert.equal(backend, backends[2], "a key moved to a backend whose weight did not change");
  });
  assert.ok(moved > KEYS.length * 0.08, `only ${moved} keys moved to the heavier backend`);
  backends[2].weight = 1;
  balancer.update(backends);
  assert.deepEqual(pickAll(), before);
});

test("md5 mode builds libketama's ring: four points per digest of '<id>-<n>'", () => {
  const backends = makeBackends([1, 1], "10.0.0.");
  const digestPoints = (text: string) => {
    const d = createHash("md5").update(text).digest();
    return [0, 1, 2, 3].map((k) => d.readUInt32LE(k * 4));
  };
  // vnodes 8: two digests per backend.
  const ring = backends
    .flatMap((b) =>
      [0, 1].flatMap((n) => digestPoints(`${b.id}-${n}`).map((point) => ({ point, b }))),
    )
    .sort((x, y) => x.point - y.point);
  const balancer = consistentHashRing.create({ hash: "md5", vnodes: 8 });
  balancer.update(backends);
  const random = seededRandom(1);
  for (const key of KEYS.slice(0, 500)) {
    const hash = createHash("md5").update(key).digest().readUInt32LE(0);
    const expected = (ring.find((p) => p.point >= hash) ?? ring[0]).b;
    assert.equal(balancer.pick({ now: 0, random, key }), expected, key);
  }
});

test("huge weights are scaled down together, keeping the ring bounded and the shares", () => {
  const backends = makeBackends([60_000, 60_000, 30_000]);
  const ring = buildHashRing(backends, 10_000, new RingPointCache("xxhash32"));
  assert.ok(ring.points.length <= MAX_RING_POINTS + backends.length);
  const owned = ring.owners.filter((owner) => owner === backends[2]).length;
  assert.ok(Math.abs(owned / ring.points.length - 0.2) < 0.001);
});

test("no backend when the pool is empty or every backend is unavailable", () => {
  const balancer = consistentHashRing.create();
  const random = seededRandom(1);
  balancer.update([]);
  assert.equal(balancer.pick({ now: 0, random, key: "k" }), undefined);
  const backends = makeBackends([1, 1, 0]);
  backends[0].available = false;
  backends[1].available = false;
  balancer.update(backends);
  assert.equal(balancer.pick({ now: 0, random, key: "k" }), undefined);
});

test("copes with an empty pool and with membership changes at any time", () => {
  assert.ok(churn(consistentHashRing) > 0);
  assert.ok(churn(consistentHashRing, { hash: "murmur3", vnodes: 40 }) > 0);
});
