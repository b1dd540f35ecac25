/** The table's ranking: an algorithm that refuses much of its work never ranks above one that serves it all. */
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import {
  defaultBackends,
  parseBackends,
  rankResults,
  scenarioDefaults,
  simulate,
} from "../../src/sim/index.js";

describe("ranking of the simulator's results", () => {
  it("puts rows that failed over 1% of requests below every row that did not", () => {
    const scenario = {
      ...scenarioDefaults,
      requests: 4000,
      backends: parseBackends(defaultBackends),
      slow: [],
      down: [],
      seed: 1,
    };
    // ovf with weight 1 refuses a backend holding more than one request: fast but failing.
    const ranked = rankResults(simulate(scenario, ["rr", "lc", "ovf"]));
    const ovf = ranked.find((r) => r.algorithm === "ovf")!;
    assert.ok(ovf.failures > 0.01 * ovf.requests, `ovf failed only ${ovf.failures}`);
    assert.equal(ranked.at(-1)!.algorithm, "ovf");
    // Among rows that served everything, p99 decides: lc beats rr on this pool.
    assert.deepEqual(
      ranked.map((r) => r.algorithm),
      ["lc", "rr", "ovf"],
    );
  });
});
