/**
 * Least connection (IPVS `lc`), after net/netfilter/ipvs/ip_vs_lc.c: the schedulable backend
 * with the least overhead (`active * 256 + inactive`); weights only gate (0 = quiesced), and
 * a later backend replaces the current choice only when strictly lower, so ties go to the
 * earliest backend in the list.
 */
import { connectionOverhead } from "./common/ipvs.js";
import { isSchedulable } from "./common/schedulable.js";
import type { AlgorithmInfo, Backend, Balancer, PickContext } from "./types.js";

class LeastConnections<B extends Backend> implements Balancer<B> {
  readonly name = "lc";
  private backends: readonly B[] = [];

  update(backends: readonly B[]): void {
    this.backends = backends;
  }

  pick(_context: PickContext): B | undefined {
    const list = this.backends;
    let least: B | undefined;
    let leastOverhead = 0;
    for (let i = 0; i < list.length; i++) {
      const backend = list[i];
      if (!isSchedulable(backend)) continue;
      const overhead = connectionOverhead(backend);
      if (least === undefined || overhead < leastOverhead) {
        least = backend;
        leastOverhead = overhead;
      }
    }
    return least;
  }
}

export const leastConnections: AlgorithmInfo = {
  name: "lc",
  description: "least connections: fewest active*256+inactive, weights ignored (IPVS lc)",
  usesKey: false,
  weighted: false,
  create: () => new LeastConnections(),
};
