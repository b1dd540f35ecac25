/**
 * wlc makes the decisions of net/netfilter/ipvs/ip_vs_wlc.c: start with the first backend
 * not overloaded and of weight > 0, replace it by a later `d` when
 * `overhead(least) * weight(d) > overhead(d) * weight(least)`, overhead = active*256+inactive.
 */
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { weightedLeastConnections } from "../../src/balancer/weighted-least-connections.js";
import { makeContext } from "./fixtures.js";
import { named, scriptedPicks, setCounts } from "./ipvs-script.js";

describe("wlc: IPVS weighted least connection", () => {
  it("compares overhead per weight by cross-multiplication, ties to the first", () => {
    const backends = named([1, 3]);
    const balancer = weightedLeastConnections.create();
    balancer.update(backends);
    setCounts(backends, [1, 2]);
    assert.equal(balancer.pick(makeContext())?.id, "b", "256*3 > 512*1");
    backends[1].weight = 2;
    balancer.update(backends);
    assert.equal(balancer.pick(makeContext())?.id, "a", "256*2 = 512*1: the first wins");
    setCounts(backends, [0, 0], [5, 3]);
    assert.equal(balancer.pick(makeContext())?.id, "b", "inactive connections count");
  });

  it("follows the kernel's sequence for weights 3, 1 as connections open", () => {
    const balancer = weightedLeastConnections.create();
    balancer.update(named([3, 1]));
    assert.equal(scriptedPicks(balancer, 10), "a b a a a b a a a b");
  });

  it("starts from the first schedulable backend, skipping quiesced and overloaded ones", () => {
    const backends = named([0, 2, 1]);
    const balancer = weightedLeastConnections.create();
    balancer.update(backends);
    backends[1].available = false;
    setCounts(backends, [0, 0, 4]);
    assert.equal(balancer.pick(makeContext())?.id, "c");
  });
});
