/**
 * A renew succeeds only while the registered backend is still in its pool. Removed through
 * the admin API (or its pool rebuilt by a reload), a renew answers "no live lease", so the
 * instance registers again and is back in the pool, instead of renewing a lease that keeps
 * nothing in service.
 */
import assert from "node:assert/strict";
import { test } from "node:test";
import { HeartbeatLeases } from "../../src/health/index.js";
import { Pool } from "../../src/pool/pool.js";

test("a renew after the backend left its pool fails, and registering again brings it back", () => {
  const clock = { now: 1_000_000 };
  const pool = new Pool("api", [], { algorithm: "rr" });
  const pools = new Map([["api", pool]]);
  const leases = new HeartbeatLeases(pools, { clock: () => clock.now });
  const { id } = leases.register("api", { host: "127.0.0.1", port: 8001, ttlMs: 10_000 });
  assert.equal(leases.renew("api", id), true);

  pool.remove(id); // DELETE /api/pools/api/backends/<id>?now=1
  clock.now += 1_000;
  assert.equal(leases.renew("api", id), false, "nothing in the pool to keep alive");
  assert.deepEqual(leases.list("api"), [], "the lease is gone too");

  leases.register("api", { host: "127.0.0.1", port: 8001, ttlMs: 10_000 });
  assert.equal(pool.get(id)?.source, "registry");
  assert.equal(leases.renew("api", id), true);

  // The pool itself replaced by a reload (removed, then added again under the same name).
  const rebuilt = new Pool("api", [], { algorithm: "rr" });
  pools.set("api", rebuilt);
  assert.equal(leases.renew("api", id), false);
  leases.register("api", { host: "127.0.0.1", port: 8001, ttlMs: 10_000 });
  assert.equal(rebuilt.get(id)?.source, "registry");
  leases.stop();
  pool.close();
  rebuilt.close();
});
