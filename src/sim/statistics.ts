/** Summary figures of one run: percentiles and how faithfully keys stuck to one backend. */

/** The q-quantile (0..1) of ascending `sorted` by nearest rank; NaN when empty. */
export function percentile(sorted: Float64Array, q: number): number {
  const n = sorted.length;
  if (n === 0) return Number.NaN;
  const rank = Math.max(1, Math.ceil(q * n));
  return sorted[Math.min(n, rank) - 1];
}

/** The arithmetic mean; NaN when empty. */
export function mean(values: Float64Array): number {
  if (values.length === 0) return Number.NaN;
  let sum = 0;
  for (let i = 0; i < values.length; i++) sum += values[i];
  return sum / values.length;
}

/**
 * Share of keys seen at least twice whose requests all went to one backend (1 = every such
 * key stuck). `counts[key * backends + b]` is how many of the key's requests went to b.
 */
export function keyStability(counts: Uint32Array, backends: number): number {
  let repeated = 0;
  let stuck = 0;
  for (let base = 0; base < counts.length; base += backends) {
    let total = 0;
    let used = 0;
    for (let b = 0; b < backends; b++) {
      const c = counts[base + b];
      total += c;
      if (c > 0) used++;
    }
    if (total < 2) continue;
    repeated++;
    if (used === 1) stuck++;
  }
  return repeated === 0 ? 1 : stuck / repeated;
}
