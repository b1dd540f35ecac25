/**
 * `ballast simulate`: runs algorithms side by side on one simulated workload and prints a
 * table ranked by failures, then p99 (or JSON). Deterministic for a given --seed.
 */
import { algorithmNames, isAlgorithmName } from "../balancer/index.js";
import {
  defaultBackends,
  formatTable,
  parseBackends,
  parseDownWindows,
  parseSlowWindows,
  rankResults,
  type Scenario,
  ScenarioError,
  scenarioDefaults,
  simulate,
} from "../sim/index.js";
import { parseArgs, UsageError } from "./args.js";

const FLAGS = {
  algorithms: {},
  backends: {},
  rate: {},
  requests: {},
  seed: {},
  slow: {},
  down: {},
  keys: {},
  "key-distribution": {},
  json: { boolean: true },
  help: { short: "h", boolean: true },
};

/** `ballast simulate --help`. */
export const simulateUsage = `usage: ballast simulate [options]
  --algorithms LIST   comma-separated names, or all (default all)
  --backends LIST     name:latency[:wWEIGHT][:cCAPACITY][:exponential|lognormal|fixed],...
                      (default ${defaultBackends}; capacity ${scenarioDefaults.capacity}, spread exponential)
  --rate N            mean arrivals per second, Poisson (default ${scenarioDefaults.ratePerSecond})
  --requests N        requests to simulate (default ${scenarioDefaults.requests})
  --seed N            seed of every random stream (default ${scenarioDefaults.seed})
  --slow LIST         backend:FACTORx:FROM-TO,... e.g. b:5x:2s-6s
  --down LIST         backend:FROM-TO,... e.g. c:3s-5s
  --keys N            distinct client keys for the hashing algorithms (default ${scenarioDefaults.keys.count}, at most 2000000)
  --key-distribution  zipf or uniform (default zipf)
  --json              print the scenario and results as JSON
Durations: 250ms, 2s or a bare number of ms. See docs/simulator.md.`;

/** Most requests one run may simulate, so a typo cannot eat the machine's memory. */
const MAX_REQUESTS = 2_000_000;
/** Most distinct keys: each one is a string, counted per backend; more than requests is moot. */
const MAX_KEYS = 2_000_000;

/** Runs the simulation; 0 on success (usage errors are thrown as UsageError, exit 2). */
export async function runSimulate(args: readonly string[]): Promise<number> {
  const parsed = parseArgs(args, FLAGS);
  if (parsed.flags.help === true) {
    console.log(simulateUsage);
    return 0;
  }
  if (parsed.rest.length > 0) {
    throw new UsageError(`unexpected argument "${parsed.rest[0]}"; options are --name value`);
  }
  const flag = (name: string) => {
    const value = parsed.flags[name];
    return typeof value === "string" ? value : undefined;
  };
  const algorithms = parseAlgorithms(flag("algorithms") ?? "all");
  const scenario = withUsageErrors(() => buildScenario(flag));
  const results = simulate(scenario, algorithms);
  if (parsed.flags.json === true) {
    console.log(JSON.stringify({ scenario, results: rankResults(results) }, null, 2));
    return 0;
  }
  const ids = scenario.backends.map((b) => b.id);
  console.log(describeScenario(scenario));
  console.log("");
  console.log(formatTable(results, ids));
  return 0;
}

function buildScenario(flag: (name: string) => string | undefined): Scenario {
  const backends = parseBackends(flag("backends") ?? defaultBackends);
  const ids = backends.map((b) => b.id);
  const distribution = flag("key-distribution") ?? scenarioDefaults.keys.distribution;
  if (distribution !== "zipf" && distribution !== "uniform") {
    throw new UsageError(`--key-distribution must be zipf or uniform, not "${distribution}"`);
  }
  return {
    backends,
    ratePerSecond: positiveNumber(flag("rate"), "--rate", scenarioDefaults.ratePerSecond, false),
    requests: positiveNumber(flag("requests"), "--requests", scenarioDefaults.requests, true),
    keys: {
      count: positiveNumber(flag("keys"), "--keys", scenarioDefaults.keys.count, true),
      distribution,
      zipfExponent: scenarioDefaults.keys.zipfExponent,
    },
    slow: parseSlowWindows(flag("slow") ?? "", ids),
    down: parseDownWindows(flag("down") ?? "", ids),
    seed: seedOf(flag("seed")),
  };
}

function parseAlgorithms(text: string): string[] {
  if (text === "all") return [...algorithmNames];
  const names = text
    .split(",")
    .map((s) => s.trim())
    .filter((s) => s.length > 0);
  if (names.length === 0) throw new UsageError("--algorithms needs at least one name");
  for (const name of names) {
    if (!isAlgorithmName(name)) {
      throw new UsageError(
        `unknown algorithm "${name}" in --algorithms; expected "all" or a list of ${algorithmNames.join(", ")}`,
      );
    }
  }
  return [...new Set(names)];
}

function positiveNumber(
  text: string | undefined,
  name: string,
  fallback: number,
  integer: boolean,
): number {
  if (text === undefined) return fallback;
  const value = Number(text);
  const valid =
    text.trim() !== "" &&
    Number.isFinite(value) &&
    value > 0 &&
    (!integer || Number.isInteger(value));
  if (!valid) {
    throw new UsageError(
      `${name} must be a positive ${integer ? "integer" : "number"}, not "${text}"`,
    );
  }
  if (name === "--requests" && value > MAX_REQUESTS) {
    throw new UsageError(`--requests must be at most ${MAX_REQUESTS}, not ${text}`);
  }
  if (name === "--keys" && value > MAX_KEYS) {
    throw new UsageError(`--keys must be at most ${MAX_KEYS}, not ${text}`);
  }
  return value;
}

function seedOf(text: string | undefined): number {
  if (text === undefined) return scenarioDefaults.seed;
  if (!/^\d+$/.test(text) || Number(text) > 0xffffffff) {
    throw new UsageError(`--seed must be an integer from 0 to 4294967295, not "${text}"`);
  }
  return Number(text);
}

function withUsageErrors<T>(build: () => T): T {
  try {
    return build();
  } catch (error) {
    if (error instanceof ScenarioError) throw new UsageError(error.message);
    throw error;
  }
}

/** One line that says what was simulated, so a pasted table carries its inputs. */
function describeScenario(s: Scenario): string {
  const backends = s.backends
    .map((b) => `${b.id} ${b.meanMs}ms w${b.weight} c${b.capacity} ${b.spread}`)
    .join(", ");
  const windows = [
    ...s.slow.map((w) => `${w.backend} ${w.factor}x slower ${w.fromMs}-${w.toMs}ms`),
    ...s.down.map((w) => `${w.backend} down ${w.fromMs}-${w.toMs}ms`),
  ];
  return (
    `${s.requests} requests at ${s.ratePerSecond}/s (Poisson), ${s.keys.count} ${s.keys.distribution} keys, ` +
    `seed ${s.seed}; backends: ${backends}${windows.length ? `; ${windows.join(", ")}` : ""}`
  );
}
