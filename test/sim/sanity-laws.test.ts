/** Laws any correct simulator obeys: one backend makes every algorithm equal; rr splits equal backends evenly. */
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { algorithmNames } from "../../src/balancer/index.js";
import { simulate } from "../../src/sim/index.js";
import { scenario } from "./helpers.js";

describe("simulator sanity laws", () => {
  it("with one backend every algorithm sees the same latencies", () => {
    // A large weight so ovf (which skips a backend with active > weight) serves too; capacity
    // 4 at 600/s of 5 ms mean makes requests queue, so queueing is part of what must agree.
    const results = simulate(
      scenario("solo:5ms:w1000:c4", { rate: 600, requests: 4000 }),
      algorithmNames,
    );
    const reference = results[0];
    assert.ok(reference.p99Ms > reference.p50Ms, "the run must have a spread to compare");
    assert.ok(reference.p99Ms > 5 * 4.6, "queueing should push p99 above the service tail");
    for (const r of results) {
      assert.equal(r.failures, 0, r.algorithm);
      assert.equal(r.share.solo, 1, r.algorithm);
      assert.equal(r.meanMs, reference.meanMs, r.algorithm);
      assert.equal(r.p50Ms, reference.p50Ms, r.algorithm);
      assert.equal(r.p99Ms, reference.p99Ms, r.algorithm);
      assert.equal(r.maxMs, reference.maxMs, r.algorithm);
    }
  });

  it("with equal backends rr gives each the same share, to one request", () => {
    const requests = 3001;
    const [rr] = simulate(scenario("a:10ms,b:10ms,c:10ms", { requests }), ["rr"]);
    for (const id of ["a", "b", "c"]) {
      assert.ok(Math.abs(rr.share[id] * requests - requests / 3) <= 1, `${id}: ${rr.share[id]}`);
    }
  });

  it("hashing keeps every key on one backend when nothing changes", () => {
    for (const r of simulate(scenario("a:10ms,b:10ms,c:10ms"), ["chash", "maglev", "sh"])) {
      assert.equal(r.keyStability, 1, r.algorithm);
    }
  });
});
