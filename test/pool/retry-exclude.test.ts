/** A retry passes its previous backend as `exclude`; it never comes back while another can serve. */
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { algorithmNames } from "../../src/balancer/types.js";
import { scriptedPool, specs } from "./helpers.js";

describe("exclude on retry", () => {
  for (const algorithm of algorithmNames) {
    it(`${algorithm}: never returns the excluded backend when another is available`, () => {
      const { pool } = scriptedPool(specs([3, 1, 1]), { algorithm });
      for (let i = 0; i < 300; i++) {
        const key = `client-${i % 17}`;
        const first = pool.pick(key);
        assert.ok(first, "a first pick");
        const retry = pool.pick(key, first);
        assert.ok(retry, "a retry pick");
        assert.notEqual(retry.id, first.id, `retry ${i} returned the excluded ${first.id}`);
      }
      pool.close();
    });
  }

  it("returns the excluded backend when it is the only one available", () => {
    const { pool } = scriptedPool(specs([1, 1]), { algorithm: "rr" });
    pool.setHealth("b", "down");
    const a = pool.get("a")!;
    assert.equal(pool.pick(undefined, a), a);
    pool.close();
  });

  it("skips unavailable backends while avoiding the excluded one", () => {
    const { pool } = scriptedPool(specs([1, 1, 1]), { algorithm: "maglev" });
    pool.setHealth("c", "down");
    for (let i = 0; i < 100; i++) {
      const first = pool.pick(`k${i}`)!;
      const retry = pool.pick(`k${i}`, first)!;
      assert.notEqual(retry.id, "c");
      assert.notEqual(retry, first);
    }
    pool.close();
  });
});
