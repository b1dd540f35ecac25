/** Builds scenarios for the simulator tests from the CLI's compact spellings. */
import {
  parseBackends,
  parseDownWindows,
  parseSlowWindows,
  type Scenario,
  scenarioDefaults,
} from "../../src/sim/index.js";

/** A scenario from "a:5ms,b:20ms"-style backends and optional overrides. */
export function scenario(
  backends: string,
  options: { rate?: number; requests?: number; seed?: number; slow?: string; down?: string } = {},
): Scenario {
  const specs = parseBackends(backends);
  const ids = specs.map((b) => b.id);
  return {
    backends: specs,
    ratePerSecond: options.rate ?? scenarioDefaults.ratePerSecond,
    requests: options.requests ?? 5000,
    keys: { ...scenarioDefaults.keys },
    slow: parseSlowWindows(options.slow ?? "", ids),
    down: parseDownWindows(options.down ?? "", ids),
    seed: options.seed ?? 1,
  };
}
