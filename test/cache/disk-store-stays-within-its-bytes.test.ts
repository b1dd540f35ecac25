import assert from "node:assert/strict";
import { closeSync, openSync, statSync, writeSync } from "node:fs";
import { after, before, describe, it } from "node:test";
import { CacheZone } from "../../src/cache/zone.js";
import { fetchText, startBackend, type TestBackend } from "../http/helpers.js";
import { tempDir } from "../support/temp-dir.js";
import { waitFor } from "../support/wait.js";
import { type CachingProxy, fileOfKey, startCachingProxy, storedFiles } from "./helpers.js";

const KB = 1024;

describe("disk store stays within its bytes", () => {
  const dir = tempDir("cache-bound");
  let backend: TestBackend;
  let proxy: CachingProxy;

  before(async () => {
    backend = await startBackend("b", (req, res) => {
      req.resume();
      const size = req.url === "/small" ? 100 : 100 * KB;
      res.writeHead(200, { "cache-control": "max-age=3600" });
      res.end(Buffer.alloc(size, req.url?.charCodeAt(2) ?? 0));
    });
    proxy = await startCachingProxy(
      [backend],
      {},
      {
        disk: { path: dir.path, maxBytes: 350 * KB, minObjectBytes: 50 * KB },
      },
    );
  });

  after(async () => {
    await proxy.close();
    await backend.close();
    dir.cleanup();
  });

  it("keeps the files under max_size by removing the least recently used ones", async () => {
    for (const name of ["a", "b", "c", "d", "e"]) {
      assert.equal((await fetchText(proxy.port, `/${name}`)).headers["x-cache"], "MISS");
      assert.ok(proxy.zone.usage().diskBytes <= 350 * KB);
      // Evicted files are removed right after the new one is placed.
      const onDisk = () =>
        storedFiles(dir.path).reduce((sum, file) => sum + statSync(file).size, 0);
      await waitFor(`the files to fit after /${name}`, () => onDisk() <= 350 * KB);
    }
    // Three 100 KB files fit; /a and /b went first.
    await waitFor("evicted files to be removed", () => storedFiles(dir.path).length === 3);
    assert.equal(proxy.zone.usage().diskEntries, 3);
    assert.equal((await fetchText(proxy.port, "/e")).headers["x-cache"], "HIT");
    assert.equal((await fetchText(proxy.port, "/a")).headers["x-cache"], "MISS");
    assert.ok(proxy.zone.counters.evictions >= 2);
  });

  it("keeps bodies below min_object_size in memory", async () => {
    await fetchText(proxy.port, "/small");
    assert.equal((await fetchText(proxy.port, "/small")).headers["x-cache"], "HIT");
    assert.equal(proxy.zone.usage().entries, 1, "the small body is in memory");
  });

  it("cuts the connection instead of serving a body changed on disk since the start", async () => {
    const url = "/x";
    const first = await fetchText(proxy.port, url);
    assert.equal(first.body.length, 100 * KB);
    // The file is placed once the body is complete, just after the client has it.
    await waitFor(
      "the file to be placed",
      () => fileOfKey(dir.path, `127.0.0.1${url}`) !== undefined,
    );
    // A second zone on the same folder is what a restart sees: the files, unverified.
    const restarted = new CacheZone("z", {
      maxBytes: 1024 * KB,
      maxObjectBytes: 1024 * KB,
      disk: { path: dir.path, maxBytes: 350 * KB, minObjectBytes: 50 * KB },
    });
    await restarted.diskLoad;
    const file = fileOfKey(dir.path, `127.0.0.1${url}`)!;
    // One byte of the body flips: length and head stay right, only the checksum can tell.
    const fd = openSync(file, "r+");
    writeSync(fd, Buffer.from([0x01]), 0, 1, 500);
    closeSync(fd);
    const again = await startCachingProxy([backend], {}, restarted);
    try {
      await assert.rejects(fetchText(again.port, url), "the client never gets a whole answer");
      const refetched = await fetchText(again.port, url);
      assert.equal(refetched.headers["x-cache"], "MISS", "the corrupt file was dropped");
    } finally {
      await again.close();
    }
  });
});
