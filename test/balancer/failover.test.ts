/**
 * fo makes the decisions of net/netfilter/ipvs/ip_vs_fo.c: the backend of highest weight
 * that is not overloaded, the first in list on ties; weight 0 never.
 */
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { weightedFailover } from "../../src/balancer/failover.js";
import { named, scriptedPicks } from "./ipvs-script.js";

describe("fo: IPVS weighted failover", () => {
  it("sends everything to the highest weight, then fails over in weight order", () => {
    const backends = named([2, 5, 5, 0]);
    const balancer = weightedFailover.create();
    balancer.update(backends);
    assert.equal(scriptedPicks(balancer, 3), "b b b", "ties go to the first");
    backends[1].available = false;
    assert.equal(scriptedPicks(balancer, 2), "c c");
    backends[2].available = false;
    assert.equal(scriptedPicks(balancer, 2), "a a");
    backends[0].available = false;
    assert.equal(scriptedPicks(balancer, 1), "-", "weight 0 never takes over");
  });
});
