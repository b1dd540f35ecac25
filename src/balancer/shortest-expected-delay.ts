/**
 * Shortest expected delay (IPVS `sed`), after net/netfilter/ipvs/ip_vs_sed.c: as `wlc`, but the
 * overhead is `active + 1` (inactive connections are ignored): the delay a new connection
 * expects on a backend that serves its active ones at a rate proportional to its weight.
 */
import { isSchedulable } from "./common/schedulable.js";
import type { AlgorithmInfo, Backend, Balancer, PickContext } from "./types.js";

/**
 * The backend with the least `(active + 1) / weight`, cross-multiplied; the first wins ties.
 * With `idleFirst`, the first schedulable backend with no active connection is taken at once
 * (IPVS `nq`).
 */
export function pickShortestExpectedDelay<B extends Backend>(
  list: readonly B[],
  idleFirst: boolean,
): B | undefined {
  let least: B | undefined;
  let leastOverhead = 0;
  for (let i = 0; i < list.length; i++) {
    const backend = list[i];
    if (!isSchedulable(backend)) continue;
    if (idleFirst && backend.active === 0) return backend;
    const overhead = backend.active + 1;
    if (least === undefined || leastOverhead * backend.weight > overhead * least.weight) {
      least = backend;
      leastOverhead = overhead;
    }
  }
  return least;
}

class ShortestExpectedDelay<B extends Backend> implements Balancer<B> {
  readonly name = "sed";
  private backends: readonly B[] = [];

  update(backends: readonly B[]): void {
    this.backends = backends;
  }

  pick(_context: PickContext): B | undefined {
    return pickShortestExpectedDelay(this.backends, false);
  }
}

export const shortestExpectedDelay: AlgorithmInfo = {
  name: "sed",
  description: "shortest expected delay: fewest (active+1)/weight (IPVS sed)",
  usesKey: false,
  weighted: true,
  create: () => new ShortestExpectedDelay(),
};
