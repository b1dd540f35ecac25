/** Every algorithm is reachable from config; weights hold through the proxy; sorry server. */
import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import { algorithmNames } from "../../src/balancer/types.js";
import { backendsOf, fetchText, startBackend, startProxy, type TestBackend } from "./helpers.js";

describe("http algorithms through the proxy", () => {
  let backends: TestBackend[];
  before(async () => {
    backends = await Promise.all(["a", "b", "c"].map((name) => startBackend(name)));
  });
  after(async () => {
    await Promise.all(backends.map((b) => b.close()));
  });

  for (const algorithm of algorithmNames) {
    it(`${algorithm}: configured by name, serves every request`, async () => {
      const proxy = await startProxy(
        { default_pool: "p" },
        { p: { algorithm, hash_key: { header: "x-user" }, backends: backendsOf(backends) } },
      );
      try {
        const seen = new Set<string>();
        for (let i = 0; i < 30; i++) {
          const reply = await fetchText(proxy.port, `/${i}`, {
            headers: { "x-user": `user-${i}` },
          });
          assert.equal(reply.status, 200);
          seen.add(reply.body);
        }
        assert.equal(proxy.pools.get("p")!.algorithm, algorithm);
        assert.ok([...seen].every((name) => ["a", "b", "c"].includes(name)));
        for (const state of proxy.pools.get("p")!.backends) {
          assert.equal(state.active + state.inactive, 0);
        }
      } finally {
        await proxy.close();
      }
    });
  }

  it("hash algorithms keep one key on one backend", async () => {
    for (const algorithm of ["chash", "maglev", "bounded"]) {
      const proxy = await startProxy(
        { default_pool: "p" },
        { p: { algorithm, hash_key: { header: "x-user" }, backends: backendsOf(backends) } },
      );
      try {
        const first = await fetchText(proxy.port, "/", { headers: { "x-user": "alice" } });
        for (let i = 0; i < 10; i++) {
          const again = await fetchText(proxy.port, `/${i}`, { headers: { "x-user": "alice" } });
          assert.equal(again.body, first.body, algorithm);
        }
      } finally {
        await proxy.close();
      }
    }
  });

  it("wrr 5:3:2 splits 200 requests exactly 100:60:40 (smooth weighted round robin)", async () => {
    const proxy = await startProxy(
      { default_pool: "p" },
      { p: { algorithm: "wrr", backends: backendsOf(backends, [5, 3, 2]) } },
    );
    try {
      const counts = new Map<string, number>();
      for (let i = 0; i < 200; i++) {
        const reply = await fetchText(proxy.port, "/");
        counts.set(reply.body, (counts.get(reply.body) ?? 0) + 1);
      }
      assert.deepEqual(Object.fromEntries(counts), { a: 100, b: 60, c: 40 });
    } finally {
      await proxy.close();
    }
  });

  it("a pool with nothing up uses its sorry_server, or answers 503", async () => {
    const sorry = await startBackend("sorry");
    const proxy = await startProxy(
      {
        routes: [
          { match: { path_prefix: "/sorry/" }, pool: "p" },
          { match: {}, pool: "q" },
        ],
      },
      {
        p: { backends: backendsOf([backends[0]]), sorry_server: `127.0.0.1:${sorry.port}` },
        q: { backends: backendsOf([backends[1]]) },
      },
    );
    try {
      proxy.pools.get("p")!.setHealth("a", "down");
      proxy.pools.get("q")!.setHealth("b", "down");
      const withSorry = await fetchText(proxy.port, "/sorry/x");
      assert.equal(withSorry.status, 200);
      assert.equal(withSorry.body, "sorry");
      const without = await fetchText(proxy.port, "/plain");
      assert.equal(without.status, 503);
      assert.match(without.body, /^503 Service Unavailable\nrequest id: /);
    } finally {
      await proxy.close();
      await sorry.close();
    }
  });
});
