/** The registry of algorithms by name: `createBalancer("wlc")` and friends. */
import { boundedLoad } from "./bounded-load.js";
import { consistentHashRing } from "./consistent-hash-ring.js";
import { destinationHashing } from "./destination-hashing.js";
import { weightedFailover } from "./failover.js";
import { leastConnections } from "./least-connections.js";
import { localityLeastConnections } from "./locality-least-connections.js";
import { localityLeastConnectionsReplicated } from "./locality-least-connections-replicated.js";
import { maglev } from "./maglev.js";
import { neverQueue } from "./never-queue.js";
import { overflowConnection } from "./overflow.js";
import { peakEwma } from "./peak-ewma.js";
import { powerOfTwoChoices } from "./power-of-two-choices.js";
import { random } from "./random.js";
import { roundRobin } from "./round-robin.js";
import { shortestExpectedDelay } from "./shortest-expected-delay.js";
import { smoothWeightedRoundRobin } from "./smooth-weighted-round-robin.js";
import { sourceHashing } from "./source-hashing.js";
import type { AlgorithmInfo, AlgorithmName, Balancer, BalancerOptions } from "./types.js";
import { algorithmNames } from "./types.js";
import { weightedLeastConnections } from "./weighted-least-connections.js";
import { weightedRandom } from "./weighted-random.js";

export { isSchedulable } from "./common/schedulable.js";
export { seededRandom } from "./seeded-random.js";
export * from "./types.js";

/** Every algorithm, by its registered name. */
export const algorithms: Readonly<Record<AlgorithmName, AlgorithmInfo>> = {
  rr: roundRobin,
  wrr: smoothWeightedRoundRobin,
  random,
  wrandom: weightedRandom,
  lc: leastConnections,
  wlc: weightedLeastConnections,
  sed: shortestExpectedDelay,
  nq: neverQueue,
  fo: weightedFailover,
  ovf: overflowConnection,
  dh: destinationHashing,
  sh: sourceHashing,
  lblc: localityLeastConnections,
  lblcr: localityLeastConnectionsReplicated,
  chash: consistentHashRing,
  maglev,
  bounded: boundedLoad,
  p2c: powerOfTwoChoices,
  ewma: peakEwma,
};

/** True when `name` is a registered algorithm. */
export function isAlgorithmName(name: string): name is AlgorithmName {
  return (algorithmNames as readonly string[]).includes(name);
}

/** Creates the named algorithm; throws with the valid names when it is unknown. */
export function createBalancer(name: string, options: BalancerOptions = {}): Balancer {
  if (!isAlgorithmName(name)) {
    throw new Error(`unknown algorithm "${name}"; expected one of ${algorithmNames.join(", ")}`);
  }
  return algorithms[name].create(options);
}
