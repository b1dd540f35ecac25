/**
 * Never queue (IPVS `nq`), after net/netfilter/ipvs/ip_vs_nq.c: the first schedulable backend
 * with no active connection is chosen at once (an idle server beats a fast busy one);
 * otherwise the shortest expected delay, `(active + 1) / weight`.
 */
import { pickShortestExpectedDelay } from "./shortest-expected-delay.js";
import type { AlgorithmInfo, Backend, Balancer, PickContext } from "./types.js";

class NeverQueue<B extends Backend> implements Balancer<B> {
  readonly name = "nq";
  private backends: readonly B[] = [];

  update(backends: readonly B[]): void {
    this.backends = backends;
  }

  pick(_context: PickContext): B | undefined {
    return pickShortestExpectedDelay(this.backends, true);
  }
}

export const neverQueue: AlgorithmInfo = {
  name: "nq",
  description: "never queue: an idle backend at once, else shortest expected delay (IPVS nq)",
  usesKey: false,
  weighted: true,
  create: () => new NeverQueue(),
};
