import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import { fetchText, startBackend, type TestBackend } from "../http/helpers.js";
import { type CachingProxy, startCachingProxy } from "./helpers.js";

describe("fresh responses are served from the cache", () => {
  let backend: TestBackend;
  let proxy: CachingProxy;
  let counter = 0;

  before(async () => {
    backend = await startBackend("b", (req, res) => {
      counter++;
      req.resume();
      if (req.url === "/chunked") {
        res.setHeader("cache-control", "max-age=60");
        res.write("part one,");
        res.end(" part two");
        return;
      }
      res.writeHead(200, {
        "cache-control": "max-age=60",
        "content-type": "text/plain",
        "surrogate-key": "product-1 all",
        "content-length": String(`answer ${counter}`.length),
      });
      res.end(`answer ${counter}`);
    });
    proxy = await startCachingProxy([backend]);
  });

  after(async () => {
    await proxy.close();
    await backend.close();
  });

  it("answers the second GET without asking the backend, with Age, X-Cache and Cache-Status", async () => {
    const first = await fetchText(proxy.port, "/a");
    assert.equal(first.headers["x-cache"], "MISS");
    assert.match(
      String(first.headers["cache-status"]),
      /^ballast; fwd=uri-miss; fwd-status=200; stored$/,
    );
    const second = await fetchText(proxy.port, "/a");
    assert.equal(second.status, 200);
    assert.equal(second.body, first.body);
    assert.equal(second.headers["x-cache"], "HIT");
    assert.match(String(second.headers["cache-status"]), /^ballast; hit; ttl=\d+$/);
    assert.match(String(second.headers.age), /^\d+$/);
    assert.equal(backend.seen.filter((r) => r.url === "/a").length, 1);
    assert.equal(proxy.zone.counters.hits, 1);
  });

  it("keeps the purge tags from the client", async () => {
    const reply = await fetchText(proxy.port, "/tags");
    assert.equal(reply.headers["surrogate-key"], undefined);
    const hit = await fetchText(proxy.port, "/tags");
    assert.equal(hit.headers["x-cache"], "HIT");
    assert.equal(hit.headers["surrogate-key"], undefined);
  });

  it("answers HEAD from a stored GET", async () => {
    const get = await fetchText(proxy.port, "/head");
    const head = await fetchText(proxy.port, "/head", { method: "HEAD" });
    assert.equal(head.status, 200);
    assert.equal(head.body, "");
    assert.equal(head.headers["x-cache"], "HIT");
    assert.equal(head.headers["content-length"], String(get.body.length));
    assert.equal(backend.seen.filter((r) => r.url === "/head").length, 1);
  });

  it("stores a chunked response with its length", async () => {
    await fetchText(proxy.port, "/chunked");
    const hit = await fetchText(proxy.port, "/chunked");
    assert.equal(hit.body, "part one, part two");
    assert.equal(hit.headers["content-length"], "18");
    assert.equal(hit.headers["transfer-encoding"], undefined);
  });

  it("answers a range request with 206 from the whole stored response, and 416 beyond it", async () => {
    const first = await fetchText(proxy.port, "/etag-less");
    assert.equal(first.status, 200);
    const range = await fetchText(proxy.port, "/etag-less", { headers: { range: "bytes=0-3" } });
    assert.equal(range.status, 206);
    assert.equal(range.body, first.body.slice(0, 4));
    assert.match(String(range.headers["content-range"]), /^bytes 0-3\/\d+$/);
    const beyond = await fetchText(proxy.port, "/etag-less", { headers: { range: "bytes=9999-" } });
    assert.equal(beyond.status, 416);
  });

  it("keeps separate entries per host", async () => {
    await fetchText(proxy.port, "/host", { headers: { host: "one.example" } });
    const other = await fetchText(proxy.port, "/host", { headers: { host: "two.example" } });
    assert.equal(other.headers["x-cache"], "MISS");
  });
});
