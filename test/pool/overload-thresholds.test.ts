/**
 * IPVS connection thresholds (ipvsadm -x upper, -y lower), after ip_vs_conn.c: a backend is
 * overloaded once active + inactive >= upper, and the flag clears when the total drops below
 * the lower threshold, or, without one, when total * 4 < upper * 3.
 */
import assert from "node:assert/strict";
import { afterEach, describe, it } from "node:test";
import type { Lease } from "../../src/pool/lease.js";
import type { Pool } from "../../src/pool/pool.js";
import { scriptedPool, specs } from "./helpers.js";

let pool: Pool;
afterEach(() => pool.close());

function takeAll(count: number): Lease[] {
  const leases: Lease[] = [];
  for (let i = 0; i < count; i++) {
    const lease = pool.acquire();
    assert.ok(lease, `lease ${i} should be granted`);
    leases.push(lease);
  }
  return leases;
}

describe("overload thresholds", () => {
  it("skips a backend at its upper threshold and uses it again below the lower one", () => {
    ({ pool } = scriptedPool(
      specs([1]).map((s) => ({ ...s, maxConnections: 4, minConnections: 2 })),
      { algorithm: "rr" },
    ));
    const [a] = pool.backends;
    const leases = takeAll(4);
    assert.equal(a.overloaded, true);
    assert.equal(pool.pick(), undefined, "an overloaded backend takes no new work");
    leases[0].release({ ok: true });
    leases[1].release({ ok: true });
    assert.equal(a.connections, 2);
    assert.equal(a.overloaded, true, "2 is not below the lower threshold 2");
    leases[2].release({ ok: true });
    assert.equal(a.overloaded, false);
    assert.equal(pool.pick(), a);
    leases[3].release({ ok: true });
  });

  it("without a lower threshold clears when total * 4 < upper * 3 (upper 5: at 3)", () => {
    ({ pool } = scriptedPool(
      specs([1]).map((s) => ({ ...s, maxConnections: 5 })),
      { algorithm: "rr" },
    ));
    const [a] = pool.backends;
    const leases = takeAll(5);
    assert.equal(a.overloaded, true);
    leases[0].release({ ok: true });
    assert.equal(a.overloaded, true, "4 * 4 = 16 is not below 15");
    leases[1].release({ ok: true });
    assert.equal(a.overloaded, false, "3 * 4 = 12 is below 15, as the kernel decides");
    for (const lease of leases) lease.release({ ok: true });
    assert.equal(a.connections, 0);
  });

  it("counts opening (inactive) and established (active) connections alike", () => {
    ({ pool } = scriptedPool(
      specs([1, 1]).map((s) => ({ ...s, maxConnections: 2 })),
      { algorithm: "rr" },
    ));
    const [a, b] = pool.backends;
    const first = pool.take(a);
    first.established();
    pool.take(a);
    assert.equal(a.active, 1);
    assert.equal(a.inactive, 1);
    assert.equal(a.overloaded, true);
    for (let i = 0; i < 5; i++) assert.equal(pool.pick(), b, "only b is available");
  });

  it("without thresholds a backend is never overloaded", () => {
    ({ pool } = scriptedPool(specs([1]), { algorithm: "rr" }));
    takeAll(1000);
    assert.equal(pool.backends[0].overloaded, false);
    assert.equal(pool.backends[0].connections, 1000);
  });
});
