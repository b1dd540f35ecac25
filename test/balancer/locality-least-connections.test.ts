/**
 * lblc follows Linux 6.x net/netfilter/ipvs/ip_vs_lblc.c: a key keeps its cached backend
 * unless that backend is unavailable, out of the pool, of weight 0 or lblc-overloaded
 * (active > weight while some backend has active * 2 < weight); then weighted least
 * connection (overhead active * 256 + inactive, first wins ties; the OVERLOAD flag skipped)
 * chooses and the entry is overwritten. A backend that leaves and comes back before its keys
 * are used keeps them. Entries unused for the expiration
 * time (24 h) are collected by the check every 30 minutes; a table above 16 × 1024 entries
 * loses entries unused for 6 min (ip_vs_lblc_check_expire). The clock is scripted.
 */
import assert from "node:assert/strict";
import { test } from "node:test";
import {
  LocalityTable,
  TABLE_HARD_LIMIT,
  TABLE_MAX_SIZE,
} from "../../src/balancer/common/locality-table.js";
import { localityLeastConnections } from "../../src/balancer/locality-least-connections.js";
import type { BalancerOptions } from "../../src/balancer/types.js";
import { makeBackends, seededRandom, TestBackend } from "./fixtures.js";
import { churn } from "./hash-fixtures.js";

const MINUTE = 60_000;
const HOUR = 60 * MINUTE;

function setup(weights: number[], options: BalancerOptions = {}) {
  const backends = makeBackends(weights);
  const balancer = localityLeastConnections.create(options);
  balancer.update(backends);
  const random = seededRandom(1);
  const pick = (key: string, now = 0) => balancer.pick({ now, random, key });
  return { backends, balancer, pick };
}

test("a new key goes to the weighted least connection backend, first wins ties", () => {
  const { backends, pick } = setup([1, 2, 1]);
  assert.equal(pick("10.0.0.1"), backends[0], "all idle: the first");
  backends[0].active = 1; // overhead 256 at weight 1
  backends[1].active = 1; // overhead 256 at weight 2: half the load per weight
  assert.equal(pick("10.0.0.2"), backends[2], "idle b2 beats b1");
  backends[2].inactive = 200; // 200/1 against b1's 256/2 = 128
  assert.equal(pick("10.0.0.3"), backends[1]);
});

test("a known key keeps its backend while it is not overloaded", () => {
  const { backends, pick } = setup([4, 4]);
  assert.equal(pick("10.0.0.1"), backends[0]);
  backends[0].active = 4; // busier than b1, but active <= weight
  assert.equal(pick("10.0.0.1"), backends[0]);
  backends[0].active = 5; // active > weight, and b1 has 0 * 2 < 4: overloaded
  assert.equal(pick("10.0.0.1"), backends[1]);
  backends[0].active = 0;
  assert.equal(pick("10.0.0.1"), backends[1], "the entry was overwritten");
});

test("active > weight alone is not overload when no backend is below half its weight", () => {
  const { backends, pick } = setup([2, 2]);
  assert.equal(pick("k"), backends[0]);
  backends[0].active = 9;
  backends[1].active = 1; // 1 * 2 < 2 is false
  assert.equal(pick("k"), backends[0]);
});

test("an unavailable or quiesced cached backend is replaced", () => {
  const { backends, balancer, pick } = setup([1, 1, 1]);
  assert.equal(pick("k"), backends[0]);
  backends[0].available = false;
  assert.equal(pick("k"), backends[1]);
  backends[0].available = true;
  backends[1].weight = 0;
  balancer.update(backends);
  assert.equal(pick("k"), backends[0]);
});

test("a cached backend flagged overloaded keeps its key; a new key skips it", () => {
  // Linux 6.x ip_vs_lblc.c: the cache hit tests IP_VS_DEST_F_AVAILABLE, weight and the
  // lblc is_overloaded rule, not IP_VS_DEST_F_OVERLOAD; __ip_vs_lblc_schedule skips it.
  const { backends, pick } = setup([1, 1]);
  assert.equal(pick("k"), backends[0]);
  backends[0].overloaded = true;
  assert.equal(pick("k"), backends[0], "cached: kept although overloaded");
  assert.equal(pick("other"), backends[1], "chosen anew: the overloaded b0 is skipped");
  backends[0].active = 2; // and now lblc's own rule: active > weight while b1 is idle
  assert.equal(pick("k"), backends[1], "replaced by weighted least connection");
});

test("a backend that leaves the pool and comes back keeps its cached keys", () => {
  // Linux 6.x: the lblc entry holds a reference to the ip_vs_dest, which waits in the trash
  // without IP_VS_DEST_F_AVAILABLE; adding the same address again revives that dest.
  const [a, b] = [new TestBackend("A", 1), new TestBackend("B", 1)];
  const balancer = localityLeastConnections.create();
  const pick = (key: string) => balancer.pick({ now: 0, random: seededRandom(1), key });
  balancer.update([a, b]);
  assert.equal(pick("k"), a);
  balancer.update([b]);
  balancer.update([b, a]);
  assert.equal(pick("k"), a, "the entry still points to A (wlc alone would pick B, first)");
  // A pool may re-create the backend: the entry follows the id to the new object.
  const again = new TestBackend("A", 1);
  balancer.update([b]);
  balancer.update([b, again]);
  assert.equal(pick("k"), again);
});

test("a removed backend is not used while it is away; its keys are chosen anew", () => {
  const { backends, balancer, pick } = setup([1, 1]);
  assert.equal(pick("k"), backends[0]);
  balancer.update([backends[1]]);
  assert.equal(pick("k"), backends[1], "b0 still looks available, but it left the pool");
  balancer.update(backends);
  assert.equal(pick("k"), backends[1], "the entry was overwritten while b0 was away");
});

test("a backend removed from the same array in place is forgotten too", () => {
  const { backends, balancer, pick } = setup([1, 1]);
  const list = [...backends];
  balancer.update(list);
  assert.equal(pick("k"), backends[0]);
  list.splice(0, 1);
  balancer.update(list);
  assert.equal(pick("k"), backends[1]);
});

test("entries unused for the expiration time are collected; used ones stay", () => {
  const { backends, pick } = setup([1, 1]);
  assert.equal(pick("stale", 0), backends[0]);
  assert.equal(pick("fresh", 0), backends[0]);
  backends[0].inactive = 5; // least connection now prefers b1
  assert.equal(pick("fresh", 23 * HOUR), backends[0], "cached, not yet expired");
  // Past 24 h since "stale" was last used, a full check (every 30 quiet minutes) runs.
  assert.equal(pick("fresh", 24 * HOUR + 31 * MINUTE), backends[0], "used 1.5 h ago: kept");
  assert.equal(pick("stale", 24 * HOUR + 31 * MINUTE), backends[1], "expired: chosen anew");
});

test("expirationMs shortens the expiration time", () => {
  const { backends, pick } = setup([1, 1], { expirationMs: 10 * MINUTE });
  assert.equal(pick("k", 0), backends[0]);
  backends[0].inactive = 5;
  assert.equal(pick("k", 5 * MINUTE), backends[0]);
  assert.equal(pick("other", 5 * MINUTE + 45 * MINUTE), backends[1]);
  assert.equal(pick("k", 5 * MINUTE + 45 * MINUTE), backends[1], "expired at a full check");
});

test("above 16 × 1024 entries, entries unused for 6 minutes are collected first", () => {
  const table = new LocalityTable<{ lastUse: number }>();
  table.lookup("start", 0);
  const total = TABLE_MAX_SIZE + 3000;
  for (let i = 0; i < total; i++) table.insert(`k${i}`, { lastUse: 0 }, 0);
  table.lookup("k0", 5 * MINUTE); // checks at 1..5 min find nothing unused for 6 min
  assert.equal(table.size, total);
  table.lookup("k1", 6 * MINUTE + 1); // the 6-min check collects (excess × 4/3) of them
  assert.equal(table.size, total - Math.floor((3000 * 4) / 3));
  assert.ok(table.lookup("k0", 6 * MINUTE + 2), "an entry used since is kept");
});

test("memory is bounded: a flood of new keys never grows the table past its hard limit", () => {
  const table = new LocalityTable<{ lastUse: number }>();
  for (let i = 0; i < TABLE_HARD_LIMIT + 10_000; i++) {
    table.insert(`k${i}`, { lastUse: i }, i);
    assert.ok(table.size <= TABLE_HARD_LIMIT);
  }
  assert.ok(table.lookup(`k${TABLE_HARD_LIMIT + 9_999}`, 0), "the newest entry is kept");
});

test("copes with an empty pool and with membership changes at any time", () => {
  assert.ok(churn(localityLeastConnections) > 0);
});
