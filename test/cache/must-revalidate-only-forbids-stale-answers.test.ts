/**
 * must-revalidate and proxy-revalidate forbid serving a response once it is stale (RFC 9111
 * 5.2.2.2, 5.2.2.8), not while it is fresh. http-cache-semantics 4.x refuses to reuse a
 * must-revalidate response at all and gives proxy-revalidate responses no lifetime in a
 * shared cache; the first test shows that, the others that ballast follows the RFC.
 */
import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import CachePolicy from "http-cache-semantics";
import { fetchText, startBackend, type TestBackend } from "../http/helpers.js";
import { type CachingProxy, startCachingProxy } from "./helpers.js";

describe("must-revalidate only forbids stale answers", () => {
  let backend: TestBackend;
  let proxy: CachingProxy;
  let up = true;

  before(async () => {
    backend = await startBackend("b", (req, res) => {
      req.resume();
      if (!up) {
        res.writeHead(503);
        res.end();
        return;
      }
      const stale = req.url?.startsWith("/stale") ?? false;
      const directive = req.url?.includes("proxy") ? "proxy-revalidate" : "must-revalidate";
      res.writeHead(200, {
        "cache-control": `max-age=60, ${directive}`,
        ...(stale ? { age: "120" } : {}),
      });
      res.end("ok");
    });
    proxy = await startCachingProxy(
      [backend],
      {
        stale_if_error: "1h",
        stale_while_revalidate: "1h",
      },
      {},
      { retries: { attempts: 0 } },
    );
  });

  after(async () => {
    await proxy.close();
    await backend.close();
  });

  it("is a case the library gets wrong", () => {
    const request = { url: "/", method: "GET", headers: { host: "h" } };
    const response = { status: 200, headers: { "cache-control": "max-age=60, must-revalidate" } };
    const policy = new CachePolicy(request, response, { shared: true });
    assert.equal(policy.satisfiesWithoutRevalidation(request), false);
    const proxyPolicy = new CachePolicy(
      request,
      { status: 200, headers: { "cache-control": "max-age=60, proxy-revalidate" } },
      { shared: true },
    );
    assert.equal(proxyPolicy.maxAge(), 0);
  });

  for (const path of ["/fresh-must", "/fresh-proxy"]) {
    it(`serves a fresh ${path.slice(7)}-revalidate response from the cache`, async () => {
      await fetchText(proxy.port, path);
      const second = await fetchText(proxy.port, path);
      assert.equal(second.headers["x-cache"], "HIT");
      assert.equal(backend.seen.filter((r) => r.url === path).length, 1);
    });
  }

  it("never serves a stale must-revalidate response, not even when the backend fails", async () => {
    await fetchText(proxy.port, "/stale-must");
    up = false;
    try {
      const reply = await fetchText(proxy.port, "/stale-must");
      assert.equal(reply.status, 503);
    } finally {
      up = true;
    }
  });
});
