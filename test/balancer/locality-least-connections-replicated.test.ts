/**
 * lblcr follows Linux 6.x net/netfilter/ipvs/ip_vs_lblcr.c: a key maps to a set of backends;
 * the set's weighted least connection member serves it; when none can, or it is overloaded,
 * weighted least connection over the pool picks a backend that joins the set (newest first);
 * a set unchanged for the expiration time loses its weighted-most-connection member. Members
 * that leave the pool stay in their sets: skipped while away, counted in the set's size.
 */
import assert from "node:assert/strict";
import { test } from "node:test";
import {
  localityLeastConnectionsReplicated,
  MAX_SET_SIZE,
} from "../../src/balancer/locality-least-connections-replicated.js";
import type { BalancerOptions } from "../../src/balancer/types.js";
import { makeBackends, seededRandom, TestBackend } from "./fixtures.js";
import { churn } from "./hash-fixtures.js";

const HOUR = 3_600_000;

function setup(weights: number[], options: BalancerOptions = {}) {
  const backends = makeBackends(weights);
  const balancer = localityLeastConnectionsReplicated.create(options);
  balancer.update(backends);
  const random = seededRandom(1);
  const pick = (key: string, now = 0) => balancer.pick({ now, random, key });
  return { backends, balancer, pick };
}

test("a new key creates a set with the weighted least connection backend", () => {
  const { backends, pick } = setup([1, 1, 1]);
  backends[0].active = 1;
  assert.equal(pick("10.0.0.1"), backends[1]);
  backends[0].active = 0;
  assert.equal(pick("10.0.0.1"), backends[1], "the set {b1} keeps serving the key");
});

test("an overloaded member makes the pool's least connection backend join the set", () => {
  const { backends, pick } = setup([2, 2, 2]);
  assert.equal(pick("k"), backends[0]);
  backends[0].active = 3; // > weight, and b1 has 0 * 2 < 2
  assert.equal(pick("k"), backends[1], "b1 joins: set {b1, b0}");
  backends[1].active = 1; // b1 at 256/2 per weight, b0 at 768/2: b1 is the set's least
  backends[2].active = 0;
  assert.equal(pick("k"), backends[1], "served from the set, not the idle b2");
  backends[1].active = 4;
  backends[0].active = 2; // b0 now the set's least (512 < 1024) and not overloaded
  assert.equal(pick("k"), backends[0]);
});

test("ties inside a set go to the newest member", () => {
  const { backends, pick } = setup([1, 1]);
  assert.equal(pick("k"), backends[0]);
  backends[0].active = 2; // overloaded: b1 has 0 * 2 < 1
  assert.equal(pick("k"), backends[1]);
  backends[0].active = 0;
  assert.equal(pick("k"), backends[1], "b0 and b1 tie; b1 was added last");
});

test("an unavailable member is skipped inside the set", () => {
  const { backends, pick } = setup([1, 1, 1]);
  assert.equal(pick("k"), backends[0]);
  backends[0].available = false;
  assert.equal(pick("k"), backends[1], "no usable member: the pool's choice joins");
  backends[0].available = true;
  backends[1].active = 1;
  assert.equal(pick("k"), backends[0], "b0 is back and least loaded in the set");
});

test("an overloaded member is skipped inside the set, as ip_vs_dest_set_min does", () => {
  const { backends, pick } = setup([1, 1, 1]);
  assert.equal(pick("k"), backends[0]);
  backends[0].overloaded = true; // IP_VS_DEST_F_OVERLOAD, unlike lblc's cache hit
  assert.equal(pick("k"), backends[1], "no usable member: the pool's choice joins");
  backends[0].overloaded = false;
  backends[1].active = 1;
  assert.equal(pick("k"), backends[0], "b0 is usable again and least loaded in the set");
});

test("a set unchanged for the expiration time loses its busiest member", () => {
  const { backends, pick } = setup([1, 1, 1]);
  assert.equal(pick("k", 0), backends[0]);
  backends[0].active = 2;
  assert.equal(pick("k", 0), backends[1], "set {b1, b0} modified at 0");
  backends[0].active = 1;
  backends[1].active = 1;
  backends[2].active = 1;
  // Used every hour so the entry itself never expires; the set is not modified.
  for (let hour = 1; hour <= 24; hour++) assert.equal(pick("k", hour * HOUR), backends[1]);
  backends[0].active = 0; // b0 would now be the set's least ...
  backends[1].active = 5; // ... and b1 the busiest, to be removed after 24 h
  assert.equal(pick("k", 24 * HOUR + 1), backends[0], "least chosen before the shrink");
  backends[0].active = 0;
  backends[1].active = 0;
  // Had b1 stayed, it would win the tie as the newest member; it left, so b0 serves.
  assert.equal(pick("k", 24 * HOUR + 2), backends[0], "b1 was removed from the set");
});

test("a removed backend is skipped in its sets and the pool's choice joins", () => {
  const { backends, balancer, pick } = setup([1, 1]);
  assert.equal(pick("k"), backends[0]);
  balancer.update([backends[1]]);
  assert.equal(pick("k"), backends[1], "b0 still looks available, but it left the pool");
});

test("a backend that leaves the pool and comes back is still in its sets", () => {
  // Linux 6.x: the set element holds a reference to the ip_vs_dest, which waits in the trash
  // without IP_VS_DEST_F_AVAILABLE; adding the same address again revives that dest.
  const [a, b] = [new TestBackend("A", 1), new TestBackend("B", 1)];
  const balancer = localityLeastConnectionsReplicated.create();
  const pick = (key: string) => balancer.pick({ now: 0, random: seededRandom(1), key });
  balancer.update([a, b]);
  assert.equal(pick("k"), a);
  balancer.update([b]);
  balancer.update([b, a]);
  assert.equal(pick("k"), a, "the set {A} serves k (wlc alone would pick B, first)");
  const again = new TestBackend("A", 1);
  balancer.update([b]);
  balancer.update([b, again]);
  assert.equal(pick("k"), again, "the member follows its id to a re-created backend");
});

test("with expiry, a departed member still counts towards the set's size", () => {
  const { backends, balancer, pick } = setup([1, 1]);
  const [a, b] = backends;
  assert.equal(pick("k", 0), a);
  a.active = 2; // lblc-overloaded: b has 0 * 2 < 1
  assert.equal(pick("k", 0), b, "b joins: set {b, a}, modified at 0");
  a.active = 0;
  balancer.update([b]); // a leaves, but stays in the set
  for (let hour = 1; hour <= 24; hour++) assert.equal(pick("k", hour * HOUR), b);
  // Past the expiration the set {b, a} has 2 members, a counted though away: its busiest
  // member goes, and that is b (1280 per weight against a's 0). b still serves this pick.
  b.active = 5;
  assert.equal(pick("k", 24 * HOUR + 1), b);
  b.active = 0;
  balancer.update([b, a]); // a comes back: the set is {a}
  assert.equal(pick("k", 24 * HOUR + 2), a, "b was removed; a serves (wlc would pick b)");
});

test("a set keeps at most MAX_SET_SIZE members, dropping the oldest departed one", () => {
  // Each round replaces the whole pool with a new backend: the key's set gains one member
  // per round and, without the bound, would grow for ever.
  const balancer = localityLeastConnectionsReplicated.create();
  const pick = (key: string) => balancer.pick({ now: 0, random: seededRandom(1), key });
  const first = new TestBackend("n0", 1);
  balancer.update([first]);
  assert.equal(pick("k"), first);
  for (let round = 1; round <= MAX_SET_SIZE + 10; round++) {
    const backend = new TestBackend(`n${round}`, 1);
    balancer.update([backend]);
    assert.equal(pick("k"), backend);
  }
  // n0 .. n10 were dropped as the oldest departed members; n11 .. n74 are still in the set.
  const kept = new TestBackend("n11", 1);
  balancer.update([new TestBackend("z", 1), kept]);
  assert.equal(pick("k"), kept, "n11 is still a member: the set serves k");
  const dropped = new TestBackend("n10", 1);
  const outsider = new TestBackend("y", 1);
  balancer.update([outsider, dropped]);
  assert.equal(pick("k"), outsider, "n10 left the set: wlc over the pool chooses y, first");
});

test("copes with an empty pool and with membership changes at any time", () => {
  assert.ok(churn(localityLeastConnectionsReplicated) > 0);
  assert.ok(churn(localityLeastConnectionsReplicated, { expirationMs: 120_000 }) > 0);
});
