/**
 * ovf makes the decisions of net/netfilter/ipvs/ip_vs_ovf.c: the highest weight among
 * backends that are not overloaded, of weight > 0 and with `active <= weight`; the first in
 * list on ties. Only active connections count.
 */
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { overflowConnection } from "../../src/balancer/overflow.js";
import { makeContext } from "./fixtures.js";
import { named, scriptedPicks, setCounts } from "./ipvs-script.js";

describe("ovf: IPVS overflow connection", () => {
  it("fills the highest weight while active <= weight, then overflows to the next", () => {
    const balancer = overflowConnection.create();
    balancer.update(named([2, 3]));
    assert.equal(scriptedPicks(balancer, 8), "b b b b a a a -");
  });

  it("ties to the first, ignores inactive connections, skips overloaded ones", () => {
    const backends = named([3, 3, 1]);
    const balancer = overflowConnection.create();
    balancer.update(backends);
    setCounts(backends, [3, 0, 0], [50, 0, 0]);
    assert.equal(balancer.pick(makeContext())?.id, "a", "3 <= 3 and the first");
    backends[0].available = false;
    assert.equal(balancer.pick(makeContext())?.id, "b");
  });
});
