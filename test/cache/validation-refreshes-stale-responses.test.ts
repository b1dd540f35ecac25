import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import { fetchText, startBackend, type TestBackend } from "../http/helpers.js";
import { type CachingProxy, startCachingProxy } from "./helpers.js";

describe("validation refreshes stale responses", () => {
  let backend: TestBackend;
  let proxy: CachingProxy;
  let version = 1;

  before(async () => {
    backend = await startBackend("b", (req, res) => {
      req.resume();
      const etag = `"v${version}"`;
      if (req.headers["if-none-match"] === etag) {
        // The 304 carries a new header and a new lifetime, which replace the stored ones.
        res.writeHead(304, { etag, "cache-control": "max-age=60", "x-refreshed": "yes" });
        res.end();
        return;
      }
      // Age above max-age: the response is stale as soon as it is stored.
      res.writeHead(200, { etag, "cache-control": "max-age=10", age: "20", "x-refreshed": "no" });
      res.end(`version ${version}`);
    });
    proxy = await startCachingProxy([backend]);
  });

  after(async () => {
    await proxy.close();
    await backend.close();
  });

  it("revalidates a stale response with If-None-Match and serves it with the 304's fields", async () => {
    const first = await fetchText(proxy.port, "/r");
    assert.equal(first.body, "version 1");
    const second = await fetchText(proxy.port, "/r");
    assert.equal(backend.seen[1].headers["if-none-match"], '"v1"');
    assert.equal(second.status, 200);
    assert.equal(second.body, "version 1");
    assert.equal(second.headers["x-cache"], "REVALIDATED");
    assert.equal(second.headers["x-refreshed"], "yes");
    assert.equal(proxy.zone.counters.revalidated, 1);
    // Fresh again for 60 s: the third request is a hit.
    const third = await fetchText(proxy.port, "/r");
    assert.equal(third.headers["x-cache"], "HIT");
    assert.equal(backend.seen.length, 2);
  });

  it("answers a client's matching If-None-Match with 304 from the cache", async () => {
    const reply = await fetchText(proxy.port, "/r", { headers: { "if-none-match": '"v1"' } });
    assert.equal(reply.status, 304);
    assert.equal(reply.body, "");
    assert.equal(backend.seen.length, 2);
  });

  it("replaces the stored response when the backend answers 200 to the revalidation", async () => {
    await fetchText(proxy.port, "/changed");
    version = 2;
    const second = await fetchText(proxy.port, "/changed");
    assert.equal(second.body, "version 2");
    assert.equal(second.headers["x-cache"], "EXPIRED");
  });
});
