import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import { fetchText, startBackend, type TestBackend } from "../http/helpers.js";
import { eventually } from "../support/wait.js";
import { type CachingProxy, startCachingProxy } from "./helpers.js";

describe("stale-while-revalidate answers at once", () => {
  let backend: TestBackend;
  let proxy: CachingProxy;
  let version = 1;
  let release: () => void = () => {};

  before(async () => {
    backend = await startBackend("b", (req, res) => {
      req.resume();
      const answer = () => {
        res.writeHead(200, {
          "cache-control": "max-age=10, stale-while-revalidate=600",
          // The first version is stale on arrival; the refreshed one is fresh.
          ...(version === 1 ? { age: "20" } : {}),
        });
        res.end(`version ${version}`);
      };
      if (version === 1) answer();
      else
        release = () => {
          release = () => {};
          answer();
        };
    });
    proxy = await startCachingProxy([backend]);
  });

  after(async () => {
    release();
    await proxy.close();
    await backend.close();
  });

  it("serves the stale response while one background request refreshes it", async () => {
    await fetchText(proxy.port, "/swr");
    version = 2;
    // The backend holds the refresh: the answer cannot have waited for it.
    const stale = await fetchText(proxy.port, "/swr");
    assert.equal(stale.body, "version 1");
    assert.equal(stale.headers["x-cache"], "UPDATING");
    const again = await fetchText(proxy.port, "/swr");
    assert.equal(again.body, "version 1");
    assert.ok(await eventually(() => backend.seen.length === 2));
    release();
    assert.ok(await eventually(() => proxy.zone.counters.stores === 2));
    const fresh = await fetchText(proxy.port, "/swr");
    assert.equal(fresh.body, "version 2");
    assert.equal(fresh.headers["x-cache"], "HIT");
    assert.equal(backend.seen.length, 2);
  });
});
