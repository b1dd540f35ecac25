import assert from "node:assert/strict";
import { request } from "node:http";
import { after, before, describe, it } from "node:test";
import { fetchText, startBackend, type TestBackend } from "../http/helpers.js";
import { type CachingProxy, startCachingProxy } from "./helpers.js";

const MB = 1024 * 1024;
/** The body of the big response: 1 GB, sent in 1 MB chunks with backpressure. */
const BIG = 1024 * MB;

describe("large responses stream while stored", () => {
  let backend: TestBackend;
  let proxy: CachingProxy;
  let firstChunkRead: () => void = () => {};
  const firstChunk = new Promise<void>((resolve) => {
    firstChunkRead = resolve;
  });

  before(async () => {
    const chunk = Buffer.alloc(MB, 97);
    backend = await startBackend("b", (req, res) => {
      req.resume();
      if (req.url === "/held") {
        // The rest of the body comes only after the client read the first bytes: the proxy
        // cannot have waited for the whole body.
        res.writeHead(200, { "cache-control": "max-age=60", "content-length": String(2 * MB) });
        res.write(chunk);
        void firstChunk.then(() => res.end(chunk));
        return;
      }
      res.writeHead(200, { "cache-control": "max-age=60", "content-length": String(BIG) });
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
    proxy = await startCachingProxy([backend], {}, { maxObjectBytes: 4 * MB });
  });

  after(async () => {
    await proxy.close();
    await backend.close();
  });

  it("sends the first bytes before the backend finished, then stores the whole response", async () => {
    const received = await new Promise<number>((resolve, reject) => {
      request({ host: "127.0.0.1", port: proxy.port, path: "/held", agent: false }, (res) => {
        let bytes = 0;
        res.on("data", (data: Buffer) => {
          bytes += data.length;
          firstChunkRead();
        });
        res.on("end", () => resolve(bytes));
        res.on("error", reject);
      })
        .on("error", reject)
        .end();
    });
    assert.equal(received, 2 * MB);
    const hit = await fetchText(proxy.port, "/held");
    assert.equal(hit.headers["x-cache"], "HIT");
    assert.equal(hit.body.length, 2 * MB);
  });

  it("streams 1 GB through a miss with bounded memory and stores none of it", async () => {
    const before = process.memoryUsage().rss;
    let peak = before;
    const received = await new Promise<number>((resolve, reject) => {
      request({ host: "127.0.0.1", port: proxy.port, path: "/big", agent: false }, (res) => {
        let bytes = 0;
        res.on("data", (data: Buffer) => {
          bytes += data.length;
          if ((bytes & (64 * MB - 1)) < data.length)
            peak = Math.max(peak, process.memoryUsage().rss);
        });
        res.on("end", () => resolve(bytes));
        res.on("error", reject);
      })
        .on("error", reject)
        .end();
    });
    assert.equal(received, BIG);
    // Backend, proxy and client share this process: all of them together stay far below 1 GB.
    assert.ok(peak - before < 256 * MB, `rss grew by ${Math.round((peak - before) / MB)} MB`);
    assert.equal(proxy.zone.usage().entries, 1, "only the 2 MB response is stored");
  });
});
