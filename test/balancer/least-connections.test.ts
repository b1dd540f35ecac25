/**
 * lc makes the decisions of net/netfilter/ipvs/ip_vs_lc.c: least `active * 256 + inactive`
 * among backends that are not overloaded and of weight > 0; a later backend replaces the
 * choice only when strictly lower (ties to the first in list); weights otherwise ignored.
 */
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { leastConnections } from "../../src/balancer/least-connections.js";
import { makeContext } from "./fixtures.js";
import { named, scriptedPicks, setCounts } from "./ipvs-script.js";

describe("lc: IPVS least connection", () => {
  it("weighs an active connection as 256 inactive ones", () => {
    const backends = named([1, 1]);
    const balancer = leastConnections.create();
    balancer.update(backends);
    setCounts(backends, [1, 0], [0, 255]);
    assert.equal(balancer.pick(makeContext())?.id, "b", "256 > 255");
    setCounts(backends, [1, 0], [0, 256]);
    assert.equal(balancer.pick(makeContext())?.id, "a", "256 = 256: the first wins");
  });

  it("ignores weights except that weight 0 is quiesced", () => {
    const backends = named([1, 100, 0]);
    const balancer = leastConnections.create();
    balancer.update(backends);
    setCounts(backends, [2, 2, 0]);
    assert.equal(balancer.pick(makeContext())?.id, "a");
  });

  it("skips overloaded backends and fills the rest in list order", () => {
    const backends = named([1, 1, 1]);
    const balancer = leastConnections.create();
    balancer.update(backends);
    assert.equal(scriptedPicks(balancer, 6), "a b c a b c");
    backends[0].available = false;
    backends[2].active = 5;
    assert.equal(scriptedPicks(balancer, 5), "b b b b c", "5 = 5 goes to b, the first");
  });
});
