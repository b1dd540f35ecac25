/**
 * sed makes the decisions of net/netfilter/ipvs/ip_vs_sed.c: as wlc, with overhead
 * `active + 1` (inactive connections ignored), compared per weight by cross-multiplication.
 */
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { shortestExpectedDelay } from "../../src/balancer/shortest-expected-delay.js";
import { makeContext } from "./fixtures.js";
import { named, scriptedPicks, setCounts } from "./ipvs-script.js";

describe("sed: IPVS shortest expected delay", () => {
  it("prefers the heavier of two idle backends: (0+1)/1 > (0+1)/2", () => {
    const balancer = shortestExpectedDelay.create();
    balancer.update(named([1, 2]));
    assert.equal(scriptedPicks(balancer, 8), "b a b b a b b a");
  });

  it("ignores inactive connections and ties to the first", () => {
    const backends = named([1, 1]);
    const balancer = shortestExpectedDelay.create();
    balancer.update(backends);
    setCounts(backends, [0, 1], [100, 0]);
    assert.equal(balancer.pick(makeContext())?.id, "a");
    setCounts(backends, [1, 1], [0, 0]);
    assert.equal(balancer.pick(makeContext())?.id, "a");
  });
});
