/** Pools with a scripted clock and seeded randomness for the pool tests. */

import { seededRandom } from "../../src/balancer/seeded-random.js";
import type { BackendSpec } from "../../src/pool/backend.js";
import { Pool, type PoolOptions } from "../../src/pool/pool.js";

export { seededRandom };

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
