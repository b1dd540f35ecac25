/**
 * A hashing pool asked without a key falls back to round robin, as HAProxy's
 * `balance hdr(...)` and `balance url_param` do when the header or parameter is absent.
 */
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { Pool } from "../../src/pool/pool.js";

const specs = [
  { host: "10.0.0.1", port: 80 },
  { host: "10.0.0.2", port: 80 },
  { host: "10.0.0.3", port: 80 },
];

describe("hash algorithms without a key", () => {
  for (const algorithm of ["chash", "maglev", "bounded", "sh", "dh", "lblc", "lblcr"]) {
    it(`${algorithm}: keyless picks spread over every available backend`, () => {
      const pool = new Pool("p", specs, { algorithm, clock: () => 1 });
      const seen = new Map<string, number>();
      for (let i = 0; i < 30; i++) {
        const id = pool.pick()!.id;
        seen.set(id, (seen.get(id) ?? 0) + 1);
      }
      assert.deepEqual([...seen.values()], [10, 10, 10]);
    });
  }

  it("skips unavailable backends and still hashes when a key is given", () => {
    const pool = new Pool("p", specs, { algorithm: "maglev", clock: () => 1 });
    pool.setHealth("10.0.0.2:80", "down");
    for (let i = 0; i < 10; i++) assert.notEqual(pool.pick()!.id, "10.0.0.2:80");
    const first = pool.pick("user-42")!.id;
    for (let i = 0; i < 10; i++) assert.equal(pool.pick("user-42")!.id, first);
  });
});
