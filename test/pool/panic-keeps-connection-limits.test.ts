/**
 * Panic mode spreads over every enabled primary, healthy or not, but a backend at its
 * `max_connections` (IPVS -x, nginx max_conns) stays skipped: the limit protects the
 * backend, and panic is exactly when the few that are left must not be crushed.
 */
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { pickIds, scriptedPool } from "./helpers.js";

describe("panic mode and connection limits", () => {
  it("does not pick a primary that is at its max_connections", () => {
    const { pool } = scriptedPool(
      [
        { id: "full", host: "127.0.0.1", port: 9001, maxConnections: 1 },
        { id: "down-1", host: "127.0.0.1", port: 9002 },
        { id: "down-2", host: "127.0.0.1", port: 9003 },
      ],
      { algorithm: "rr", panicThresholdPercent: 50 },
    );
    pool.setHealth("down-1", "down");
    pool.setHealth("down-2", "down");
    const lease = pool.take(pool.get("full")!);
    assert.equal(pool.get("full")!.overloaded, true);
    const picks = pickIds(pool, 6);
    assert.ok(!picks.includes("full"), `picked: ${picks.join(", ")}`);
    assert.deepEqual(new Set(picks), new Set(["down-1", "down-2"]), "panic spreads over the rest");
    lease.release({ ok: true });
    assert.ok(pickIds(pool, 3).includes("full"), "below the limit it is picked again");
    pool.close();
  });
});
