/**
 * Backups serve only when every primary is unavailable (HAProxy `backup`); below the panic
 * threshold of healthy primaries the pool spreads over all of them (Envoy's panic mode).
 */
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { pickIds, scriptedPool, specs } from "./helpers.js";

function poolWithBackup(panicThresholdPercent = 0) {
  return scriptedPool(
    [...specs([1, 1]), { id: "spare", host: "127.0.0.1", port: 9100, backup: true }],
    { algorithm: "rr", panicThresholdPercent },
  );
}

describe("backups", () => {
  it("are not used while any primary is available", () => {
    const { pool } = poolWithBackup();
    assert.ok(!pickIds(pool, 20).includes("spare"));
    pool.setHealth("a", "down");
    assert.deepEqual(pickIds(pool, 4), ["b", "b", "b", "b"]);
    pool.close();
  });

  it("take over when every primary is down, drained or quiesced, and hand back on recovery", () => {
    const { pool } = poolWithBackup();
    pool.setHealth("a", "down");
    pool.drain("b");
    assert.deepEqual(pickIds(pool, 3), ["spare", "spare", "spare"]);
    pool.setEnabled("b", true);
    pool.setWeight("b", 0);
    assert.deepEqual(
      pickIds(pool, 2),
      ["spare", "spare"],
      "weight 0 is not available for new work",
    );
    pool.setHealth("a", "up");
    assert.deepEqual(pickIds(pool, 3), ["a", "a", "a"]);
    pool.close();
  });

  it("with no backup and no available primary, nothing is picked", () => {
    const { pool } = scriptedPool(specs([1, 1]));
    pool.setHealth("a", "down");
    pool.setHealth("b", "down");
    assert.equal(pool.pick(), undefined);
    assert.equal(pool.acquire(), undefined);
    pool.close();
  });
});

describe("panic threshold", () => {
  it("below the threshold of healthy primaries, spreads over every enabled primary", () => {
    const { pool } = scriptedPool(specs([1, 1, 1, 1]), {
      algorithm: "rr",
      panicThresholdPercent: 50,
    });
    pool.setHealth("a", "down");
    assert.ok(!pickIds(pool, 8).includes("a"), "75% healthy: not in panic");
    pool.setHealth("b", "down");
    assert.ok(!pickIds(pool, 8).includes("a"), "50% healthy is not below 50%");
    pool.setHealth("c", "down");
    const picks = pickIds(pool, 8);
    assert.deepEqual(new Set(picks), new Set(["a", "b", "c", "d"]), "25% healthy: panic");
    pool.close();
  });

  it("panic still skips disabled, draining and weight-0 primaries", () => {
    const { pool } = scriptedPool(specs([1, 1, 1, 1]), { panicThresholdPercent: 80 });
    for (const id of ["a", "b", "c", "d"]) pool.setHealth(id, "down");
    pool.setEnabled("a", false);
    pool.drain("b");
    pool.setWeight("c", 0);
    assert.deepEqual(pickIds(pool, 3), ["d", "d", "d"]);
    pool.close();
  });

  it("is off by default: with every primary down, nothing is picked", () => {
    const { pool } = scriptedPool(specs([1, 1]));
    pool.setHealth("a", "down");
    pool.setHealth("b", "down");
    assert.equal(pool.pick(), undefined);
    pool.close();
  });
});
