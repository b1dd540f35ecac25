/**
 * `workers: N`: the connections other workers hold on a backend (Pool.setSharedCounts) count
 * for least-connections and overload, while this worker's own leases still add and release
 * theirs, and a backend drained for removal leaves once the whole balancer's count is zero.
 */
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { Pool } from "../../src/pool/pool.js";
import { specs } from "./helpers.js";

describe("shared counts from other workers", () => {
  it("steer least-connections away from a backend the other workers keep busy", () => {
    const pool = new Pool("p", specs([1, 1]), { algorithm: "lc" });
    assert.equal(pool.pick()?.id, "a");
    pool.setSharedCounts("a", 3, 0);
    assert.equal(pool.pick()?.id, "b");
    const lease = pool.acquire();
    assert.equal(lease?.backend.id, "b");
    // Own and shared counts add up; a new report replaces only the shared part.
    pool.setSharedCounts("a", 1, 0);
    assert.equal(pool.get("a")?.active, 1);
    assert.equal(pool.get("b")?.inactive, 1);
    lease?.release({ ok: true });
    pool.setSharedCounts("a", 0, 0);
    assert.equal(pool.get("a")?.active, 0);
    pool.close();
  });

  it("enforce max_connections over the whole balancer", () => {
    const pool = new Pool("p", [{ id: "a", host: "127.0.0.1", port: 1, maxConnections: 2 }]);
    pool.setSharedCounts("a", 2, 0);
    assert.equal(pool.get("a")?.overloaded, true);
    assert.equal(pool.pick(), undefined);
    pool.setSharedCounts("a", 0, 0);
    assert.equal(pool.get("a")?.overloaded, false);
    pool.close();
  });

  it("let a backend drained for removal leave when the other workers' count reaches zero", () => {
    const pool = new Pool("p", specs([1, 1]));
    pool.setSharedCounts("a", 1, 0);
    pool.drain("a", { remove: true });
    assert.ok(pool.get("a"));
    pool.setSharedCounts("a", 0, 0);
    assert.equal(pool.get("a"), undefined);
    pool.close();
  });
});
