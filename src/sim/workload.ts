/**
 * The requests of a scenario, drawn once before any algorithm runs: every algorithm faces
 * the same arrivals, keys and request sizes (common random numbers), so differences in the
 * results come from the algorithm alone.
 */
import { seededRandom } from "../balancer/seeded-random.js";
import { exponential, standardNormal, uniformSampler, zipfSampler } from "./random-variates.js";
import type { Scenario } from "./scenario.js";

/** Per request: when it arrives, its key, and its size in units of a backend's mean. */
export interface Workload {
  readonly count: number;
  /** Arrival times in ms, increasing. */
  readonly arrivalMs: Float64Array;
  /** Index into `keys` of each request's key. */
  readonly keyIndex: Uint32Array;
  /** The key population as client addresses, so the address-hashing schedulers see addresses. */
  readonly keys: readonly string[];
  /** Unit-mean exponential draw per request (exponential service times). */
  readonly unitExponential: Float64Array;
  /** Standard normal draw per request (log-normal service times). */
  readonly normal: Float64Array;
}

/** Distinct offsets so the streams of one seed do not repeat each other. */
const ARRIVAL_STREAM = 0x9e3779b9;
const SIZE_STREAM = 0x85ebca6b;
const KEY_STREAM = 0xc2b2ae35;

/** Draws the scenario's requests from its seed. */
export function drawWorkload(scenario: Scenario): Workload {
  const count = scenario.requests;
  const arrivals = seededRandom(scenario.seed ^ ARRIVAL_STREAM);
  const sizes = seededRandom(scenario.seed ^ SIZE_STREAM);
  const keyRandom = seededRandom(scenario.seed ^ KEY_STREAM);
  const population = scenario.keys;
  const drawKey =
    population.distribution === "zipf"
      ? zipfSampler(population.count, population.zipfExponent)
      : uniformSampler(population.count);
  const meanGapMs = 1000 / scenario.ratePerSecond;
  const arrivalMs = new Float64Array(count);
  const keyIndex = new Uint32Array(count);
  const unitExponential = new Float64Array(count);
  const normal = new Float64Array(count);
  let now = 0;
  for (let i = 0; i < count; i++) {
    now += exponential(arrivals, meanGapMs);
    arrivalMs[i] = now;
    keyIndex[i] = drawKey(keyRandom);
    unitExponential[i] = exponential(sizes, 1);
    normal[i] = standardNormal(sizes);
  }
  const keys: string[] = [];
  for (let i = 0; i < population.count; i++) keys.push(clientAddress(i));
  return { count, arrivalMs, keyIndex, keys, unitExponential, normal };
}

/** Key i as an IPv4 client address in 10.0.0.0/8 (dh and sh hash the address's bytes). */
function clientAddress(i: number): string {
  return `10.${(i >>> 16) & 255}.${(i >>> 8) & 255}.${i & 255}`;
}
