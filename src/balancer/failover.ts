/**
 * Weighted failover (IPVS `fo`), after net/netfilter/ipvs/ip_vs_fo.c: every new connection
 * goes to the available backend of highest weight; the first in the list wins ties. Lower
 * weights are standbys that take over in weight order.
 */
import type { AlgorithmInfo, Backend, Balancer, PickContext } from "./types.js";

class WeightedFailover<B extends Backend> implements Balancer<B> {
  readonly name = "fo";
  private backends: readonly B[] = [];

  update(backends: readonly B[]): void {
    this.backends = backends;
  }

  pick(_context: PickContext): B | undefined {
    const list = this.backends;
    let highest: B | undefined;
    // Starting at 0 with a strict comparison skips weight 0, as the kernel's `hw = 0` does.
    let highestWeight = 0;
    for (let i = 0; i < list.length; i++) {
      const backend = list[i];
      if (backend.available && !backend.overloaded && backend.weight > highestWeight) {
        highest = backend;
        highestWeight = backend.weight;
      }
    }
    return highest;
  }
}

export const weightedFailover: AlgorithmInfo = {
  name: "fo",
  description: "weighted failover: the available backend of highest weight (IPVS fo)",
  usesKey: false,
  weighted: true,
  create: () => new WeightedFailover(),
};
