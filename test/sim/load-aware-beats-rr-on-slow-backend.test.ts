/**
 * What the literature predicts (Mitzenmacher 2001 for two choices; Finagle/Linkerd for peak
 * EWMA): with one slow backend, algorithms that look at load or latency keep its queue short,
 * while rr and random keep sending it a full share, so their p99 is far worse.
 */
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { simulate } from "../../src/sim/index.js";
import { scenario } from "./helpers.js";

describe("load-aware algorithms on a pool with one slow backend", () => {
  for (const seed of [1, 2, 3]) {
    it(`p2c, lc and ewma have a lower p99 than rr and random (seed ${seed})`, () => {
      // d serves at most 10 / 100 ms = 100/s; rr and random send it a quarter of 600/s.
      const results = simulate(
        scenario("a:20ms,b:20ms,c:20ms,d:100ms", { rate: 600, requests: 6000, seed }),
        ["rr", "random", "p2c", "lc", "ewma"],
      );
      const p99 = Object.fromEntries(results.map((r) => [r.algorithm, r.p99Ms]));
      for (const smart of ["p2c", "lc", "ewma"]) {
        for (const blind of ["rr", "random"]) {
          assert.ok(p99[smart] < p99[blind], `${smart} ${p99[smart]} vs ${blind} ${p99[blind]}`);
        }
      }
      const share = Object.fromEntries(results.map((r) => [r.algorithm, r.share.d]));
      assert.ok(share.lc < share.rr, `lc sends the slow backend less: ${share.lc} vs ${share.rr}`);
    });
  }
});
