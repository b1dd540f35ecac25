/**
 * A backend removed from an lblc or lblcr pool and added again (the same name) gets back the
 * keys cached on it, as in Linux 6.x net/netfilter/ipvs/ip_vs_lblc.c and ip_vs_lblcr.c, where
 * the table's reference keeps the dest alive and re-adding the address revives it.
 */
import assert from "node:assert/strict";
import { afterEach, it } from "node:test";
import type { Pool } from "../../src/pool/pool.js";
import { scriptedPool, specs } from "./helpers.js";

let pool: Pool;
afterEach(() => pool.close());

for (const algorithm of ["lblc", "lblcr"]) {
  it(`${algorithm}: a key cached on a backend that was removed and re-added goes to it again`, () => {
    const [specA, specB] = specs([1, 1]);
    ({ pool } = scriptedPool([specA, specB], { algorithm }));
    assert.equal(pool.pick("10.0.0.1")?.id, "a");
    pool.remove("a");
    const again = pool.add(specA);
    assert.deepEqual(
      pool.backends.map((b) => b.id),
      ["b", "a"],
      "a is re-created at the end: wlc alone would now pick b",
    );
    assert.equal(pool.pick("10.0.0.1"), again);
    assert.equal(pool.pick("10.0.0.2")?.id, "b", "a new key: weighted least connection");
  });
}
