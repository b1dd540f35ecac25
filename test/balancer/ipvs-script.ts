/**
 * Helpers for the IPVS reference tests: set connection counts per backend, and run a
 * scripted sequence in which every pick opens an active connection on the chosen backend.
 */
import type { Balancer } from "../../src/balancer/types.js";
import { makeContext, type TestBackend } from "./fixtures.js";

/** Sets `active` (and optionally `inactive`) of each backend, in list order. */
export function setCounts(
  backends: TestBackend[],
  active: number[],
  inactive: number[] = [],
): void {
  backends.forEach((backend, i) => {
    backend.active = active[i] ?? 0;
    backend.inactive = inactive[i] ?? 0;
  });
}

/** The ids chosen by `count` picks, each pick opening an active connection ("-" = none). */
export function scriptedPicks(balancer: Balancer, count: number): string {
  const context = makeContext();
  const out: string[] = [];
  for (let i = 0; i < count; i++) {
    const picked = balancer.pick(context) as TestBackend | undefined;
    if (picked !== undefined) picked.active++;
    out.push(picked?.id ?? "-");
  }
  return out.join(" ");
}

/** Backends named a, b, c, ... with the given weights. */
export function named(weights: number[]): TestBackend[] {
  const backends: TestBackend[] = [];
  weights.forEach((weight, i) => {
    backends.push(
      Object.assign(
        { active: 0, inactive: 0, available: true, overloaded: false, latencyMs: 0, latencyAt: 0 },
        { id: String.fromCharCode(97 + i), weight },
      ),
    );
  });
  return backends;
}
