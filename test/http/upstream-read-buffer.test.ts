/**
 * An upstream connection reads into one buffer of its own, reused read after read: whatever
 * leaves a read (a body chunk to the client or to the cache, a head cut in two) must not
 * change when the next read lands.
 */
import assert from "node:assert/strict";
import { request } from "node:http";
import { after, before, describe, it } from "node:test";
import { setTimeout as sleep } from "node:timers/promises";
import { type CachingProxy, startCachingProxy } from "../cache/helpers.js";
import {
  backendsOf,
  startBackend,
  startProxy,
  type TestBackend,
  type TestProxy,
} from "./helpers.js";

/** `size` bytes that differ from one request to the next and from one position to the next. */
function pattern(size: number, seed: number): Buffer {
  const out = Buffer.allocUnsafe(size);
  for (let i = 0; i < size; i++) out[i] = 65 + ((i * 7 + seed) % 26);
  return out;
}

/** GET `path` on one keep-alive socket (agent), reading slowly when `slow`; the body. */
function get(port: number, path: string, slow = false): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const req = request({ host: "127.0.0.1", port, path }, (res) => {
      const chunks: Buffer[] = [];
      res.on("data", (chunk: Buffer) => {
        chunks.push(chunk);
        if (slow) {
          res.pause();
          setTimeout(() => res.resume(), 5);
        }
      });
      res.on("end", () => resolve(Buffer.concat(chunks)));
      res.on("error", reject);
    });
    req.on("error", reject);
    req.end();
  });
}

describe("upstream read buffer", () => {
  let backend: TestBackend;
  let proxy: TestProxy;
  let cacheBackend: TestBackend;
  let caching: CachingProxy;

  before(async () => {
    backend = await startBackend("b", async (req, res) => {
      req.resume();
      const url = new URL(req.url ?? "/", "http://x");
      const size = Number(url.searchParams.get("size"));
      const seed = Number(url.searchParams.get("seed"));
      const body = pattern(size, seed);
      if (url.searchParams.has("chunked")) {
        // Pieces of every size, with pauses so they arrive in separate reads.
        res.writeHead(200, { "content-type": "application/octet-stream" });
        let at = 0;
        for (let piece = 1; at < size; piece *= 3) {
          res.write(body.subarray(at, at + piece));
          at += piece;
          await sleep(1);
        }
        res.end();
        return;
      }
      res.writeHead(200, { "content-length": String(size) });
      res.end(body);
    });
    proxy = await startProxy({ default_pool: "p" }, { p: { backends: backendsOf([backend]) } });
    cacheBackend = await startBackend("c", async (req, res) => {
      req.resume();
      const seed = req.url === "/a" ? 1 : 2;
      res.writeHead(200, { "cache-control": "max-age=60" });
      // Small pieces in separate reads: each is a small view of the read buffer.
      const body = pattern(3000, seed);
      for (let at = 0; at < body.length; at += 500) {
        res.write(body.subarray(at, at + 500));
        await sleep(2);
      }
      res.end();
    });
    caching = await startCachingProxy([cacheBackend]);
  });

  after(async () => {
    await proxy.close();
    await caching.close();
    await backend.close();
    await cacheBackend.close();
  });

  it("bodies of every size arrive intact, request after request on one backend connection", async () => {
    const sizes = [0, 1, 100, 4095, 4096, 4097, 16_384, 16_385, 65_535, 65_536, 65_537, 300_000];
    let seed = 0;
    for (const size of sizes) {
      for (const framing of ["", "&chunked"]) {
        for (const slow of [false, true]) {
          seed++;
          const body = await get(proxy.port, `/?size=${size}&seed=${seed}${framing}`, slow);
          assert.ok(body.equals(pattern(size, seed)), `${size}${framing} ${slow}`);
        }
      }
    }
  });

  it("a cached body stays as it was when later responses are read on the same connection", async () => {
    const first = await get(caching.port, "/a");
    assert.ok(first.equals(pattern(3000, 1)));
    const other = await get(caching.port, "/b");
    assert.ok(other.equals(pattern(3000, 2)));
    const hit = await get(caching.port, "/a");
    assert.ok(hit.equals(pattern(3000, 1)), "the cached body changed");
    assert.equal(cacheBackend.seen.filter((r) => r.url === "/a").length, 1);
  });
});
