/**
 * Random: every schedulable backend (available, weight > 0) with the same probability,
 * weights ignored. The candidates are listed in `update`, so a pick is one random draw; a
 * backend that became unavailable since is rejected and drawn again, and after a few misses
 * the pick counts the schedulable backends and draws among them, which keeps it uniform.
 */
import { isSchedulable } from "./common/schedulable.js";
import type { AlgorithmInfo, Backend, Balancer, PickContext } from "./types.js";

/** Draws tried from the update-time list before counting the live candidates. */
const REJECTION_TRIES = 4;

class RandomBalancer<B extends Backend> implements Balancer<B> {
  readonly name = "random";
  private backends: readonly B[] = [];
  private candidates: B[] = [];

  update(backends: readonly B[]): void {
    this.backends = backends;
    this.candidates = backends.filter(isSchedulable);
  }

  pick(context: PickContext): B | undefined {
    const candidates = this.candidates;
    const n = candidates.length;
    if (n > 0) {
      for (let attempt = 0; attempt < REJECTION_TRIES; attempt++) {
        const backend = candidates[(context.random() * n) | 0];
        if (isSchedulable(backend)) return backend;
      }
    }
    return pickUniformlyAmongSchedulable(this.backends, context.random);
  }
}

/** A uniform choice among the backends schedulable now (but `exclude`), in two passes. */
export function pickUniformlyAmongSchedulable<B extends Backend>(
  list: readonly B[],
  random: () => number,
  exclude?: B,
): B | undefined {
  let count = 0;
  for (let i = 0; i < list.length; i++) {
    const backend = list[i];
    if (backend !== exclude && isSchedulable(backend)) count++;
  }
  if (count === 0) return undefined;
  let target = (random() * count) | 0;
  for (let i = 0; i < list.length; i++) {
    const backend = list[i];
    if (backend === exclude || !isSchedulable(backend)) continue;
    if (target === 0) return backend;
    target--;
  }
  return undefined;
}

export const random: AlgorithmInfo = {
  name: "random",
  description: "random: any available backend with equal probability, weights ignored",
  usesKey: false,
  weighted: false,
  create: () => new RandomBalancer(),
};
