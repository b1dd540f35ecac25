import assert from "node:assert/strict";
import { writeFileSync } from "node:fs";
import { join } from "node:path";
import { after, before, describe, it } from "node:test";
import { fetchText, startBackend, type TestBackend } from "../http/helpers.js";
import { tempDir } from "../support/temp-dir.js";
import { type CachingProxy, startCachingProxy } from "./helpers.js";

describe("an unusable disk folder leaves the zone in memory", () => {
  const dir = tempDir("cache-unusable");
  let backend: TestBackend;
  let proxy: CachingProxy;

  before(async () => {
    backend = await startBackend("b", (req, res) => {
      req.resume();
      res.writeHead(200, { "cache-control": "max-age=3600" });
      res.end(Buffer.alloc(100 * 1024, 120));
    });
    // A regular file where the folder should be: the store cannot be created under it.
    const file = join(dir.path, "not-a-folder");
    writeFileSync(file, "");
    proxy = await startCachingProxy(
      [backend],
      {},
      {
        disk: { path: join(file, "cache"), maxBytes: 1024 * 1024, minObjectBytes: 0 },
      },
    );
  });

  after(async () => {
    await proxy.close();
    await backend.close();
    dir.cleanup();
  });

  it("says why, and stores and serves responses from memory", async () => {
    assert.match(proxy.zone.diskFailure ?? "", /ENOTDIR/);
    assert.equal((await fetchText(proxy.port, "/x")).headers["x-cache"], "MISS");
    const hit = await fetchText(proxy.port, "/x");
    assert.equal(hit.headers["x-cache"], "HIT");
    assert.equal(hit.body.length, 100 * 1024);
    assert.deepEqual([proxy.zone.usage().entries, proxy.zone.usage().diskEntries], [1, 0]);
  });
});
