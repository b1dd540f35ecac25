/**
 * Overloaded is not down: a backend at its connection threshold (ipvsadm -x) stays available
 * and is flagged overloaded, as IPVS keeps IP_VS_DEST_F_AVAILABLE and IP_VS_DEST_F_OVERLOAD
 * apart. Linux 6.x net/netfilter/ipvs/ip_vs_lblc.c checks OVERLOAD only when it chooses anew
 * (__ip_vs_lblc_schedule), so a key cached on an overloaded backend stays there, while every
 * other choice skips it.
 */
import assert from "node:assert/strict";
import { afterEach, it } from "node:test";
import type { Lease } from "../../src/pool/lease.js";
import type { Pool } from "../../src/pool/pool.js";
import { scriptedPool, specs } from "./helpers.js";

let pool: Pool;
afterEach(() => pool.close());

it("lblc keeps a key on its cached backend once that backend reaches max_connections", () => {
  ({ pool } = scriptedPool(
    specs([4, 4]).map((s) => ({ ...s, maxConnections: 2 })),
    { algorithm: "lblc" },
  ));
  const [a, b] = pool.backends;
  const leases: Lease[] = [];
  for (let i = 0; i < 2; i++) {
    const lease = pool.acquire("10.0.0.1");
    assert.equal(lease?.backend, a, "all idle: wlc's first, then the cached entry");
    leases.push(lease);
  }
  assert.equal(a.overloaded, true, "2 connections reach max_connections 2");
  assert.equal(a.available, true, "overloaded is not down");
  assert.equal(pool.pick("10.0.0.1"), a, "the cached entry is kept, as the kernel does");
  assert.equal(pool.pick("10.0.0.2"), b, "a new key never chooses the overloaded backend");
  for (const lease of leases) lease.release({ ok: true });
});

it("every other scheduler skips a backend at max_connections, keyed or not", () => {
  for (const algorithm of ["wlc", "rr", "sh", "lblcr"]) {
    ({ pool } = scriptedPool(
      specs([1, 1]).map((s) => ({ ...s, maxConnections: 1 })),
      { algorithm, algorithmOptions: { fallback: true } },
    ));
    const [a] = pool.backends;
    const lease = pool.take(a);
    assert.equal(a.overloaded, true);
    for (let i = 0; i < 50; i++) {
      assert.notEqual(pool.pick(`10.0.${i}.1`), a, `${algorithm} picked the overloaded a`);
    }
    lease.release({ ok: true });
    pool.close();
  }
});
