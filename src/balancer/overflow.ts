/**
 * Overflow connection (IPVS `ovf`), after net/netfilter/ipvs/ip_vs_ovf.c: the backend of
 * highest weight among those whose active connections do not exceed their weight
 * (`active <= weight`); once it is full, new connections overflow to the next highest.
 * The first in the list wins ties. Only active connections count, as in the kernel.
 */
import { isSchedulable } from "./common/schedulable.js";
import type { AlgorithmInfo, Backend, Balancer, PickContext } from "./types.js";

class OverflowConnection<B extends Backend> implements Balancer<B> {
  readonly name = "ovf";
  private backends: readonly B[] = [];

  update(backends: readonly B[]): void {
    this.backends = backends;
  }

  pick(_context: PickContext): B | undefined {
    const list = this.backends;
    let highest: B | undefined;
    let highestWeight = 0;
    for (let i = 0; i < list.length; i++) {
      const backend = list[i];
      const weight = backend.weight;
      if (!isSchedulable(backend) || backend.active > weight) continue;
      if (highest === undefined || weight > highestWeight) {
        highest = backend;
        highestWeight = weight;
      }
    }
    return highest;
  }
}

export const overflowConnection: AlgorithmInfo = {
  name: "ovf",
  description: "overflow: highest weight until active exceeds weight, then the next (IPVS ovf)",
  usesKey: false,
  weighted: true,
  create: () => new OverflowConnection(),
};
