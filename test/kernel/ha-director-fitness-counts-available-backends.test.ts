/**
 * What "fit" means (docs/kernel-ha.md): every tracked pool has at least `min_backends_up`
 * available backends; down, disabled and draining backends do not count; `pools` narrows
 * the tracked pools; a tracked pool that is gone counts as empty.
 */
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { Pool } from "../../src/pool/pool.js";
import { directorFitness } from "../../src/runtime/director-fitness.js";

function pools(): Map<string, Pool> {
  const backends = (n: number) =>
    Array.from({ length: n }, (_, i) => ({ id: `b${i}`, host: "127.0.0.1", port: 9001 + i }));
  return new Map([
    ["web", new Pool("web", backends(3))],
    ["api", new Pool("api", backends(2))],
  ]);
}

describe("director fitness", () => {
  it("is fit while every pool has an available backend", () => {
    assert.deepEqual(directorFitness(pools(), { min_backends_up: 1 }), { fit: true, reasons: [] });
  });

  it("down, disabled and draining backends do not count", () => {
    const all = pools();
    const api = all.get("api")!;
    api.setHealth("b0", "down", "refused");
    assert.equal(directorFitness(all, { min_backends_up: 1 }).fit, true);
    api.setEnabled("b1", false);
    assert.deepEqual(directorFitness(all, { min_backends_up: 1 }), {
      fit: false,
      reasons: ["pool api: 0 of 2 backends available"],
    });
    api.setEnabled("b1", true);
    api.drain("b1");
    assert.equal(directorFitness(all, { min_backends_up: 1 }).fit, false);
  });

  it("min_backends_up asks for more than one, per pool", () => {
    const all = pools();
    all.get("web")!.setHealth("b2", "down", "refused");
    assert.deepEqual(directorFitness(all, { min_backends_up: 3 }), {
      fit: false,
      reasons: [
        "pool web: 2 of 3 backends available (needs 3)",
        "pool api: 2 of 2 backends available (needs 3)",
      ],
    });
    assert.equal(directorFitness(all, { min_backends_up: 2 }).fit, true);
  });

  it("only the pools listed in `pools` count; a listed pool that is gone counts as empty", () => {
    const all = pools();
    all.get("api")!.setHealth("b0", "down", "refused");
    all.get("api")!.setHealth("b1", "down", "refused");
    assert.equal(directorFitness(all, { min_backends_up: 1, pools: ["web"] }).fit, true);
    assert.deepEqual(directorFitness(all, { min_backends_up: 1, pools: ["web", "old"] }), {
      fit: false,
      reasons: ["pool old: 0 of 0 backends available"],
    });
  });
});
