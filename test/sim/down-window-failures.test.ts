/**
 * A backend that is down fails the requests sent to it (and resets those it held) during its
 * window, and only then. The simulator has no health detection, so every algorithm keeps
 * picking it; what is checked is that failures are counted inside the window and none outside.
 */
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { algorithmNames } from "../../src/balancer/index.js";
import { simulate } from "../../src/sim/index.js";
import { scenario } from "./helpers.js";

const FROM = 2000;
const TO = 4000;

describe("a down window", () => {
  const results = simulate(
    scenario("a:10ms,b:20ms,c:30ms", { rate: 800, requests: 5000, down: "b:2s-4s" }),
    algorithmNames,
  );

  it("fails requests only between its start and its end, for every algorithm", () => {
    for (const r of results) {
      // ovf refuses (no backend) whenever every backend holds more than its weight: those
      // are failures of another kind, counted apart, and would blur the window here.
      if (r.noBackend > 0) continue;
      if (r.share.b === 0) {
        // fo sends everything to its first backend of the highest weight and never meets b.
        assert.equal(r.failures, 0, r.algorithm);
        continue;
      }
      assert.ok(r.failures > 0, `${r.algorithm} picked the down backend without failing`);
      assert.ok(
        (r.firstFailureMs as number) >= FROM,
        `${r.algorithm} failed at ${r.firstFailureMs}`,
      );
      assert.ok((r.lastFailureMs as number) <= TO, `${r.algorithm} failed at ${r.lastFailureMs}`);
    }
  });

  it("leaves the plain schedulers without refusals, so the check above covers them", () => {
    for (const r of results) {
      if (
        ["rr", "wrr", "random", "lc", "wlc", "p2c", "ewma", "chash", "maglev"].includes(r.algorithm)
      ) {
        assert.equal(r.noBackend, 0, r.algorithm);
      }
    }
  });

  it("without a down window nothing fails", () => {
    const clean = simulate(scenario("a:10ms,b:20ms,c:30ms", { rate: 800, requests: 5000 }), [
      "rr",
      "lc",
      "p2c",
      "ewma",
      "maglev",
    ]);
    for (const r of clean) assert.equal(r.failures, 0, r.algorithm);
  });

  it("counts about b's share of the window's requests as failures for rr", () => {
    const rr = results.find((r) => r.algorithm === "rr");
    assert.ok(rr);
    // 2 s at 800/s is about 1600 requests, a third of them to b, plus those b held at 2 s.
    assert.ok(rr.failures > 400 && rr.failures < 700, `rr failures ${rr.failures}`);
  });
});
