/**
 * The schedules nftables walks: IPVS's wrr cycle for numgen, IPVS's 256-bucket sh/dh table
 * for jhash, and the connection-count schedulers' planned picks.
 */
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import {
  BUCKETS,
  hashBuckets,
  planDispatch,
  type RealServer,
  simulatedPicks,
  weightedRoundRobinCycle,
} from "../../src/kernel/dispatch.js";

function server(id: string, weight: number): RealServer {
  return { id, address: "10.0.0.1", port: 80, weight };
}

const ids = (list: readonly RealServer[]) => list.map((s) => s.id).join("");

describe("kernel dispatch", () => {
  it("wrr's cycle follows ip_vs_wrr.c: weights 4:3:2 give a a b a b c a b c", () => {
    // cw steps 4, 3, 2, 1 over the gcd-reduced weights, as the IPVS scheduler does.
    const cycle = weightedRoundRobinCycle([server("a", 4), server("b", 3), server("c", 2)]);
    assert.equal(ids(cycle), "aababcabc");
  });

  it("wrr's cycle divides by the gcd: 30:10 is the same cycle as 3:1", () => {
    assert.equal(ids(weightedRoundRobinCycle([server("a", 30), server("b", 10)])), "aaab");
  });

  it("wrr's cycle stays within the slot limit for large weights, keeping the ratio", () => {
    const cycle = weightedRoundRobinCycle([server("a", 60_000), server("b", 20_000)]);
    assert.ok(cycle.length <= 1024);
    const share = cycle.filter((s) => s.id === "a").length / cycle.length;
    assert.ok(Math.abs(share - 0.75) < 0.01, String(share));
  });

  it("sh's table is IPVS's: each server repeated weight times, in order, wrapping over 256 buckets", () => {
    const buckets = hashBuckets([server("a", 2), server("b", 1)]);
    assert.equal(buckets.length, BUCKETS);
    assert.equal(ids(buckets.slice(0, 6)), "aabaab");
    assert.equal(buckets.filter((s) => s.id === "a").length, 171);
  });

  it("sh and dh hash the source and the destination address", () => {
    const servers = [server("a", 1), server("b", 1)];
    const sh = planDispatch("sh", servers);
    const dh = planDispatch("dh", servers);
    assert.equal(sh.kind === "hash" && sh.key, "saddr");
    assert.equal(dh.kind === "hash" && dh.key, "daddr");
  });

  it("no live server: nothing to dispatch to", () => {
    assert.deepEqual(planDispatch("wrr", []), { kind: "none" });
  });

  it("wlc's planned picks fill the least loaded server first, as per-connection wlc would", () => {
    const servers = [server("a", 1), server("b", 1)];
    const counts = new Map([
      ["a", { active: 5, inactive: 0 }],
      ["b", { active: 1, inactive: 0 }],
    ]);
    // b takes the next four (1→5), then they alternate.
    assert.equal(ids(simulatedPicks("wlc", servers, counts, 6)), "bbbbab");
  });

  it("wlc weighs the counts: a server of weight 3 takes three times the connections", () => {
    const servers = [server("a", 3), server("b", 1)];
    const picks = simulatedPicks("wlc", servers, new Map(), 400);
    const share = picks.filter((s) => s.id === "a").length / picks.length;
    assert.ok(Math.abs(share - 0.75) < 0.01, String(share));
  });

  it("nq takes an idle server at once, whatever the weights", () => {
    const servers = [server("a", 10), server("b", 1)];
    const counts = new Map([["a", { active: 1, inactive: 0 }]]);
    assert.equal(simulatedPicks("nq", servers, counts, 1)[0].id, "b");
  });

  it("lc counts an active connection as 256 inactive ones (ip_vs_dest_conn_overhead)", () => {
    const servers = [server("a", 1), server("b", 1)];
    const counts = new Map([
      ["a", { active: 0, inactive: 200 }],
      ["b", { active: 1, inactive: 0 }],
    ]);
    assert.equal(simulatedPicks("lc", servers, counts, 1)[0].id, "a");
  });
});
