/** The simulator is deterministic: the same scenario and seed give the same table; another seed does not. */
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { algorithmNames } from "../../src/balancer/index.js";
import { formatTable, simulate } from "../../src/sim/index.js";
import { scenario } from "./helpers.js";

const BACKENDS = "a:10ms:w2,b:20ms,c:40ms:lognormal";
const ids = ["a", "b", "c"];

describe("simulation determinism", () => {
  it("the same seed gives the same results for every algorithm, and another seed differs", () => {
    const options = { requests: 3000, slow: "b:3x:1s-2s", down: "c:2s-2.5s" };
    const first = simulate(scenario(BACKENDS, options), algorithmNames);
    const second = simulate(scenario(BACKENDS, options), algorithmNames);
    assert.deepEqual(second, first);
    assert.equal(formatTable(second, ids), formatTable(first, ids));
    const other = simulate(scenario(BACKENDS, { ...options, seed: 2 }), algorithmNames);
    assert.notEqual(formatTable(other, ids), formatTable(first, ids));
  });

  it("an algorithm's result does not depend on which other algorithms run beside it", () => {
    const alone = simulate(scenario(BACKENDS, { requests: 2000 }), ["p2c"]);
    const together = simulate(scenario(BACKENDS, { requests: 2000 }), ["rr", "ewma", "p2c"]);
    assert.deepEqual(together[2], alone[0]);
  });
});
