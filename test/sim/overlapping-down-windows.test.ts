/**
 * Down windows of one backend may overlap ("b:2s-6s,b:3s-4s"): the backend is down until the
 * last of them ends, not up again when the first to end does.
 */
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { simulate } from "../../src/sim/index.js";
import { scenario } from "./helpers.js";

describe("overlapping down windows", () => {
  it("keep the backend down until the last one ends", () => {
    const [overlapping, single] = ["b:2s-6s,b:3s-4s", "b:2s-6s"].map(
      (down) => simulate(scenario("a:10ms,b:10ms", { rate: 400, requests: 3200, down }), ["rr"])[0],
    );
    // rr sends b every other request at 400/s, so its failures run to the end of its outage.
    assert.ok(
      (overlapping.lastFailureMs as number) > 5_000,
      `last failure at ${overlapping.lastFailureMs} ms`,
    );
    assert.ok((overlapping.lastFailureMs as number) <= 6_000);
    assert.equal(overlapping.failures, single.failures, "the inner window changes nothing");
  });
});
