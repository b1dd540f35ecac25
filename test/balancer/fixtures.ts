/**
 * Plain backends, a seeded random source and key generators for the algorithm tests.
 * Backends here are mutable so a test can script connection counts, health and latency.
 */

import { seededRandom } from "../../src/balancer/seeded-random.js";
import type { Backend, PickContext } from "../../src/balancer/types.js";

export { seededRandom };

/** A backend whose every field a test may set directly. */
export class TestBackend implements Backend {
  id: string;
  weight: number;
  active = 0;
  inactive = 0;
  available = true;
  overloaded = false;
  latencyMs = 0;
  latencyAt = 0;

  constructor(id: string, weight = 1, fields: Partial<Omit<Backend, "id" | "weight">> = {}) {
    this.id = id;
    this.weight = weight;
    Object.assign(this, fields);
  }
}

/** Backends named `${prefix}0`, `${prefix}1`, ... with the given weights. */
export function makeBackends(weights: readonly number[], prefix = "b"): TestBackend[] {
  return weights.map((weight, index) => new TestBackend(`${prefix}${index}`, weight));
}

/** A pick context with a seeded random source, a clock at `now` and an optional key. */
export function makeContext(seed = 1, now = 0, key?: string): PickContext {
  return { now, random: seededRandom(seed), key };
}

/** `count` IPv4 addresses drawn from `random`, every octet varied. */
export function ipv4Keys(count: number, random: () => number): string[] {
  const keys: string[] = [];
  for (let i = 0; i < count; i++) {
    const octet = () => Math.floor(random() * 256);
    keys.push(`10.${octet()}.${octet()}.${octet()}`);
  }
  return keys;
}

/** How many times each backend id appears in `picks`. */
export function countById(picks: readonly (Backend | undefined)[]): Map<string, number> {
  const counts = new Map<string, number>();
  for (const backend of picks) {
    if (backend === undefined) continue;
    counts.set(backend.id, (counts.get(backend.id) ?? 0) + 1);
  }
  return counts;
}
