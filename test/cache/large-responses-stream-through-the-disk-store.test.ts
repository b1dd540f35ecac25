import assert from "node:assert/strict";
import { request } from "node:http";
import { after, before, describe, it } from "node:test";
import { startBackend, type TestBackend } from "../http/helpers.js";
import { tempDir } from "../support/temp-dir.js";
import { waitFor } from "../support/wait.js";
import { type CachingProxy, startCachingProxy, storedFiles } from "./helpers.js";

const MB = 1024 * 1024;
/** The body of the big response: 1 GB, sent in 1 MB chunks with backpressure. */
const BIG = 1024 * MB;

/** GETs `path` and counts the body, sampling the process's RSS every 64 MB. */
function download(
  port: number,
  path: string,
): Promise<{ bytes: number; xCache: string; peakRss: number }> {
  let peakRss = process.memoryUsage().rss;
  return new Promise((resolve, reject) => {
    request({ host: "127.0.0.1", port, path, agent: false }, (res) => {
      let bytes = 0;
      res.on("data", (data: Buffer) => {
        bytes += data.length;
        if ((bytes & (64 * MB - 1)) < data.length)
          peakRss = Math.max(peakRss, process.memoryUsage().rss);
      });
      res.on("end", () => resolve({ bytes, xCache: String(res.headers["x-cache"]), peakRss }));
      res.on("error", reject);
    })
      .on("error", reject)
      .end();
  });
}

describe("large responses stream through the disk store", () => {
  const dir = tempDir("cache-big");
  let backend: TestBackend;
  let proxy: CachingProxy;

  before(async () => {
    const chunk = Buffer.alloc(MB, 98);
    backend = await startBackend("b", (req, res) => {
      req.resume();
      res.writeHead(200, { "cache-control": "max-age=86400", "content-length": String(BIG) });
      let sent = 0;
      const pump = () => {
        while (sent < BIG) {
          sent += MB;
          if (!res.write(chunk)) {
            res.once("drain", pump);
            return;
          }
        }
        res.end();
      };
      pump();
    });
    proxy = await startCachingProxy(
      [backend],
      {},
      {
        maxBytes: 64 * MB,
        maxObjectBytes: 2 * BIG,
        disk: { path: dir.path, maxBytes: 2 * BIG, minObjectBytes: 0 },
      },
    );
  });

  after(async () => {
    await proxy.close();
    await backend.close();
    dir.cleanup();
  });

  it("stores 1 GB on disk through a miss and answers it from disk, with bounded memory both ways", async () => {
    const before = process.memoryUsage().rss;
    const miss = await download(proxy.port, "/big");
    assert.equal(miss.bytes, BIG);
    assert.equal(miss.xCache, "MISS");
    // Backend, proxy and client share this process: all of them together stay far below 1 GB.
    assert.ok(
      miss.peakRss - before < 256 * MB,
      `rss grew by ${Math.round((miss.peakRss - before) / MB)} MB`,
    );
    await waitFor("the file to be placed", () => proxy.zone.usage().diskEntries === 1, 30_000);
    assert.equal(storedFiles(dir.path).length, 1);
    assert.equal(proxy.zone.usage().entries, 0, "nothing of it in memory");

    const hit = await download(proxy.port, "/big");
    assert.equal(hit.bytes, BIG);
    assert.equal(hit.xCache, "HIT");
    assert.ok(
      hit.peakRss - before < 256 * MB,
      `rss grew by ${Math.round((hit.peakRss - before) / MB)} MB`,
    );
    assert.equal(backend.seen.length, 1);
  });
});
