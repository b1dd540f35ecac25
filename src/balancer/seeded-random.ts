/**
 * A seeded source of uniform numbers in [0, 1) (mulberry32): algorithms take randomness as
 * an input, and this one makes every decision of a test, a benchmark or the simulator
 * repeat exactly from the same seed.
 */
export function seededRandom(seed: number): () => number {
  let state = seed >>> 0;
  return () => {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}
