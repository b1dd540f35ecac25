/**
 * Random variates the simulator draws from a uniform source in [0, 1): each stream of the
 * workload (arrivals, request sizes, keys) has its own seeded source, so changing the
 * algorithm never changes the workload it is measured on.
 */

/** An exponential variate with the given mean (inverse transform). */
export function exponential(random: () => number, mean: number): number {
  // 1 - u lies in (0, 1], so the logarithm is finite.
  return -Math.log(1 - random()) * mean;
}

/** A standard normal variate (Box–Muller; the second value is dropped for simplicity). */
export function standardNormal(random: () => number): number {
  const u = 1 - random();
  const v = random();
  return Math.sqrt(-2 * Math.log(u)) * Math.cos(2 * Math.PI * v);
}

/** Draws indexes 0..n-1 with P(i) ∝ 1 / (i + 1)^exponent: a few hot keys, a long tail. */
export function zipfSampler(n: number, exponent: number): (random: () => number) => number {
  const cumulative = new Float64Array(n);
  let total = 0;
  for (let i = 0; i < n; i++) {
    total += 1 / (i + 1) ** exponent;
    cumulative[i] = total;
  }
  return (random) => {
    const target = random() * total;
    // Binary search for the first cumulative weight above the target.
    let low = 0;
    let high = n - 1;
    while (low < high) {
      const mid = (low + high) >>> 1;
      if (cumulative[mid] > target) high = mid;
      else low = mid + 1;
    }
    return low;
  };
}

/** Draws indexes 0..n-1 uniformly. */
export function uniformSampler(n: number): (random: () => number) => number {
  return (random) => Math.min(n - 1, Math.floor(random() * n));
}
