/**
 * nq makes the decisions of net/netfilter/ipvs/ip_vs_nq.c: the first backend (not
 * overloaded, weight > 0) with no active connection is taken at once; otherwise sed's rule.
 */
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { neverQueue } from "../../src/balancer/never-queue.js";
import { makeContext } from "./fixtures.js";
import { named, scriptedPicks, setCounts } from "./ipvs-script.js";

describe("nq: IPVS never queue", () => {
  it("sends to an idle backend first, where sed would choose the heavier one", () => {
    const balancer = neverQueue.create();
    balancer.update(named([1, 2]));
    assert.equal(scriptedPicks(balancer, 8), "a b b b a b b a");
  });

  it("takes the first idle backend even when a later one has a far higher weight", () => {
    const backends = named([0, 1, 100, 1]);
    const balancer = neverQueue.create();
    balancer.update(backends);
    setCounts(backends, [0, 3, 1, 0]);
    assert.equal(balancer.pick(makeContext())?.id, "d", "weight 0 is not idle-eligible");
    backends[3].available = false;
    assert.equal(balancer.pick(makeContext())?.id, "c", "then (1+1)/100 is the least");
  });
});
