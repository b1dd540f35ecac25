/**
 * Round robin (IPVS `rr`): the next available backend after the last one chosen, wrapping.
 * Follows net/netfilter/ipvs/ip_vs_rr.c: backends of weight 0 and overloaded ones are skipped.
 */
import { isSchedulable } from "./common/schedulable.js";
import type { AlgorithmInfo, Backend, Balancer, PickContext } from "./types.js";

class RoundRobin<B extends Backend> implements Balancer<B> {
  readonly name = "rr";
  private backends: readonly B[] = [];
  /** Index of the last backend chosen; -1 before the first pick. */
  private last = -1;

  update(backends: readonly B[]): void {
    // Keep the position when the chosen backend is still in the list (as IPVS keeps its
    // cursor), so membership changes do not restart the cycle at the head.
    const previous = this.backends[this.last];
    this.backends = backends;
    this.last = previous === undefined ? -1 : backends.indexOf(previous);
  }

  pick(_context: PickContext): B | undefined {
    const list = this.backends;
    const n = list.length;
    for (let step = 1; step <= n; step++) {
      let index = this.last + step;
      if (index >= n) index -= n;
      const backend = list[index];
      if (isSchedulable(backend)) {
        this.last = index;
        return backend;
      }
    }
    return undefined;
  }
}

export const roundRobin: AlgorithmInfo = {
  name: "rr",
  description: "round robin: each available backend in turn, weights ignored (IPVS rr)",
  usesKey: false,
  weighted: false,
  create: () => new RoundRobin(),
};
