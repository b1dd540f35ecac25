/**
 * Weighted least connection (IPVS `wlc`), after net/netfilter/ipvs/ip_vs_wlc.c: the least
 * overhead per weight, compared by cross-multiplication; ties go to the earliest backend.
 */
import { pickWeightedLeastConnection } from "./common/ipvs.js";
import type { AlgorithmInfo, Backend, Balancer, PickContext } from "./types.js";

class WeightedLeastConnections<B extends Backend> implements Balancer<B> {
  readonly name = "wlc";
  private backends: readonly B[] = [];

  update(backends: readonly B[]): void {
    this.backends = backends;
  }

  pick(_context: PickContext): B | undefined {
    return pickWeightedLeastConnection(this.backends);
  }
}

export const weightedLeastConnections: AlgorithmInfo = {
  name: "wlc",
  description: "weighted least connections: fewest (active*256+inactive)/weight (IPVS wlc)",
  usesKey: false,
  weighted: true,
  create: () => new WeightedLeastConnections(),
};
