/** Pools with a scripted clock and seeded randomness for the pool tests. */
import type { BackendSpec } from "../../src/pool/backend.js";
import { Pool, type PoolOptions } from "../../src/pool/pool.js";

/** A clock a test moves by hand; starts well above 0 because 0 means "never" to a pool. */
export class ScriptedClock {
  now = 1_000;
  /** Reads the time; pass `clock.read` to a pool. */
  readonly read = (): number => this.now;
  /** Moves time forward by `ms`. */
  advance(ms: number): void {
    this.now += ms;
  }
}

/** A seeded uniform generator (mulberry32) so every run makes the same choices. */
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

/** Backends a, b, c, ... on 127.0.0.1 ports 9001, 9002, ... with the given weights. */
export function specs(weights: readonly number[], extra: Partial<BackendSpec> = {}): BackendSpec[] {
  return weights.map((weight, i) => ({
    id: String.fromCharCode(97 + i),
    host: "127.0.0.1",
    port: 9001 + i,
    weight,
    ...extra,
  }));
}

/** A pool on a scripted clock; remember to `close()` it. */
export function scriptedPool(
  backends: readonly BackendSpec[],
  options: PoolOptions = {},
  clock = new ScriptedClock(),
): { pool: Pool; clock: ScriptedClock } {
  const pool = new Pool("test", backends, {
    clock: clock.read,
    random: seededRandom(7),
    ...options,
  });
  return { pool, clock };
}

/** Ids of `count` consecutive picks (without taking the backends). */
export function pickIds(pool: Pool, count: number, key?: string): string[] {
  const ids: string[] = [];
  for (let i = 0; i < count; i++) ids.push(pool.pick(key)?.id ?? "-");
  return ids;
}
