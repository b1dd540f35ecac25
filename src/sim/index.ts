/** The simulator: compares algorithms on one simulated workload, on a virtual clock. */
import { type AlgorithmResult, runAlgorithm } from "./run-algorithm.js";
import type { Scenario } from "./scenario.js";
import { drawWorkload } from "./workload.js";

export * from "./parse-scenario.js";
export { formatTable, rankResults } from "./report.js";
export type { AlgorithmResult } from "./run-algorithm.js";
export type * from "./scenario.js";
export { defaultBackends, scenarioDefaults } from "./scenario.js";

/** Runs every named algorithm on the same workload; results in the order of `algorithms`. */
export function simulate(scenario: Scenario, algorithms: readonly string[]): AlgorithmResult[] {
  const workload = drawWorkload(scenario);
  return algorithms.map((algorithm) => runAlgorithm(scenario, workload, algorithm));
}
