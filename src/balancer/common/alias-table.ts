/**
 * Vose's alias method: after an O(n) build, draws an index with probability proportional to
 * its weight in O(1) from one uniform number, without expanding a list of copies.
 */
export class AliasTable {
  /** Number of entries; 0 when every weight was 0. */
  size = 0;
  private probability = new Float64Array(0);
  private alias = new Int32Array(0);

  /** Rebuilds the table from `weights` (non-negative; entries of weight 0 are never drawn). */
  build(weights: ArrayLike<number>): void {
    const n = weights.length;
    let total = 0;
    for (let i = 0; i < n; i++) total += weights[i];
    if (!(total > 0)) {
      this.size = 0;
      return;
    }
    if (this.probability.length < n) {
      this.probability = new Float64Array(n);
      this.alias = new Int32Array(n);
    }
    const probability = this.probability;
    const alias = this.alias;
    // Scaled weights live in `probability` until each entry is settled; two stacks share one
    // array: small entries grow from the front, large ones from the back.
    const work = new Int32Array(n);
    let small = 0;
    let large = n;
    for (let i = 0; i < n; i++) {
      probability[i] = (weights[i] * n) / total;
      alias[i] = i;
      if (probability[i] < 1) work[small++] = i;
      else work[--large] = i;
    }
    while (small > 0 && large < n) {
      const less = work[--small];
      const more = work[large++];
      alias[less] = more;
      probability[more] = probability[more] + probability[less] - 1;
      if (probability[more] < 1) work[small++] = more;
      else work[--large] = more;
    }
    // What is left is 1 up to rounding error: always keep itself.
    while (small > 0) probability[work[--small]] = 1;
    while (large < n) probability[work[large++]] = 1;
    this.size = n;
  }

  /** The index drawn by `u`, a uniform number in [0, 1). Requires size > 0. */
  sample(u: number): number {
    const scaled = u * this.size;
    let index = scaled | 0;
    if (index >= this.size) index = this.size - 1;
    return scaled - index < this.probability[index] ? index : this.alias[index];
  }
}
