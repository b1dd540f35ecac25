/**
 * Draws two distinct schedulable backends at random for the power-of-two-choices family:
 * uniformly when all weights are equal, in proportion to weight otherwise (alias table).
 * Draws use the update-time candidate list and reject backends that became unavailable since;
 * after a few misses a draw walks the live list instead, so the distribution stays exact.
 */
import { pickUniformlyAmongSchedulable } from "../random.js";
import type { Backend } from "../types.js";
import { pickWeightedAmongSchedulable } from "../weighted-random.js";
import { AliasTable } from "./alias-table.js";
import { isSchedulable } from "./schedulable.js";

/** Draws tried from the candidate list before walking the live list. */
const REJECTION_TRIES = 8;

export class TwoChoices<B extends Backend> {
  /** The first and second backends of the latest draw (undefined when there were fewer). */
  first: B | undefined;
  second: B | undefined;
  private backends: readonly B[] = [];
  private candidates: B[] = [];
  private weighted = false;
  private readonly table = new AliasTable();

  /** Lists the candidates and, when their weights differ, builds the alias table. */
  update(backends: readonly B[]): void {
    this.backends = backends;
    this.candidates = backends.filter(isSchedulable);
    const firstWeight = this.candidates.length > 0 ? this.candidates[0].weight : 0;
    this.weighted = this.candidates.some((backend) => backend.weight !== firstWeight);
    if (this.weighted) this.table.build(this.candidates.map((backend) => backend.weight));
  }

  /** Sets `first` and `second` to two distinct schedulable backends; returns how many. */
  draw(random: () => number): number {
    this.first = this.drawOne(random, undefined);
    if (this.first === undefined) {
      this.second = undefined;
      return 0;
    }
    this.second = this.drawOne(random, this.first);
    return this.second === undefined ? 1 : 2;
  }

  private drawOne(random: () => number, exclude: B | undefined): B | undefined {
    const candidates = this.candidates;
    const n = candidates.length;
    if (n > 0) {
      for (let attempt = 0; attempt < REJECTION_TRIES; attempt++) {
        const index = this.weighted ? this.table.sample(random()) : (random() * n) | 0;
        const backend = candidates[index];
        if (backend !== exclude && isSchedulable(backend)) return backend;
      }
    }
    return this.weighted
      ? pickWeightedAmongSchedulable(this.backends, random, exclude)
      : pickUniformlyAmongSchedulable(this.backends, random, exclude);
  }
}
