/**
 * Weighted random: each schedulable backend with probability weight / total weight. `update`
 * builds a Vose alias table, so a pick is one random draw and two array reads whatever the
 * number of backends. A backend that became unavailable since `update` is rejected and drawn
 * again (rejection keeps the distribution exact among the others); after a few misses the
 * pick walks the live weights once.
 */
import { AliasTable } from "./common/alias-table.js";
import { isSchedulable } from "./common/schedulable.js";
import type { AlgorithmInfo, Backend, Balancer, PickContext } from "./types.js";

/** Draws tried from the alias table before walking the live weights. */
const REJECTION_TRIES = 4;

class WeightedRandom<B extends Backend> implements Balancer<B> {
  readonly name = "wrandom";
  private backends: readonly B[] = [];
  private candidates: B[] = [];
  private readonly table = new AliasTable();

  update(backends: readonly B[]): void {
    this.backends = backends;
    this.candidates = backends.filter(isSchedulable);
    this.table.build(this.candidates.map((backend) => backend.weight));
  }

  pick(context: PickContext): B | undefined {
    const table = this.table;
    if (table.size > 0) {
      for (let attempt = 0; attempt < REJECTION_TRIES; attempt++) {
        const backend = this.candidates[table.sample(context.random())];
        if (isSchedulable(backend)) return backend;
      }
    }
    return pickWeightedAmongSchedulable(this.backends, context.random);
  }
}

/** A weighted choice among the backends schedulable now (but `exclude`), in two passes. */
export function pickWeightedAmongSchedulable<B extends Backend>(
  list: readonly B[],
  random: () => number,
  exclude?: B,
): B | undefined {
  let total = 0;
  let last: B | undefined;
  for (let i = 0; i < list.length; i++) {
    const backend = list[i];
    if (backend === exclude || !isSchedulable(backend)) continue;
    total += backend.weight;
    last = backend;
  }
  if (last === undefined) return undefined;
  let target = random() * total;
  for (let i = 0; i < list.length; i++) {
    const backend = list[i];
    if (backend === exclude || !isSchedulable(backend)) continue;
    target -= backend.weight;
    if (target < 0) return backend;
  }
  // Rounding can leave a sliver past the last weight: it belongs to the last candidate.
  return last;
}

export const weightedRandom: AlgorithmInfo = {
  name: "wrandom",
  description: "weighted random: an available backend with probability proportional to weight",
  usesKey: false,
  weighted: true,
  create: () => new WeightedRandom(),
};
