import assert from "node:assert/strict";
import type { ServerResponse } from "node:http";
import { after, before, describe, it } from "node:test";
import { fetchText, startBackend, type TestBackend } from "../http/helpers.js";
import { type CachingProxy, startCachingProxy } from "./helpers.js";

/** What the backend answers per path. */
const answers: Record<string, (res: ServerResponse) => void> = {
  "/no-store": (res) => res.writeHead(200, { "cache-control": "no-store, max-age=60" }),
  "/private": (res) => res.writeHead(200, { "cache-control": "private, max-age=60" }),
  "/cookie": (res) => res.writeHead(200, { "cache-control": "max-age=60", "set-cookie": "s=1" }),
  "/vary-star": (res) => res.writeHead(200, { "cache-control": "max-age=60", vary: "*" }),
  "/no-freshness": (res) => res.writeHead(200, {}),
  "/status-201": (res) => res.writeHead(201, { "cache-control": "max-age=60" }),
  "/plain": (res) => res.writeHead(200, { "cache-control": "max-age=60" }),
  "/authorized-public": (res) => res.writeHead(200, { "cache-control": "public, max-age=60" }),
};

describe("responses that must not be shared are not stored", () => {
  let backend: TestBackend;
  let proxy: CachingProxy;

  before(async () => {
    backend = await startBackend("b", (req, res) => {
      req.resume();
      (answers[req.url ?? ""] ?? answers["/plain"])(res);
      res.end("body");
    });
    proxy = await startCachingProxy([backend]);
  });

  after(async () => {
    await proxy.close();
    await backend.close();
  });

  const twice = async (path: string, headers: Record<string, string> = {}) => {
    await fetchText(proxy.port, path, { headers });
    const second = await fetchText(proxy.port, path, { headers });
    return { second, seen: backend.seen.filter((r) => r.url === path).length };
  };

  for (const path of [
    "/no-store",
    "/private",
    "/cookie",
    "/vary-star",
    "/no-freshness",
    "/status-201",
  ]) {
    it(`asks the backend every time for ${path.slice(1)}`, async () => {
      const { second, seen } = await twice(path);
      assert.equal(seen, 2);
      assert.notEqual(second.headers["x-cache"], "HIT");
    });
  }

  it("never answers a request with Authorization from the cache, nor stores its response", async () => {
    const { seen } = await twice("/authorized-public", { authorization: "Bearer x" });
    assert.equal(seen, 2);
    const anonymous = await fetchText(proxy.port, "/authorized-public");
    assert.equal(anonymous.headers["x-cache"], "MISS");
  });

  it("does not store when the request says no-store", async () => {
    const { seen } = await twice("/plain?req-no-store", { "cache-control": "no-store" });
    assert.equal(seen, 2);
  });

  it("asks the backend again for a request with no-cache or Pragma: no-cache", async () => {
    await fetchText(proxy.port, "/plain?nc");
    const hit = await fetchText(proxy.port, "/plain?nc");
    assert.equal(hit.headers["x-cache"], "HIT");
    await fetchText(proxy.port, "/plain?nc", { headers: { "cache-control": "no-cache" } });
    await fetchText(proxy.port, "/plain?nc", { headers: { pragma: "no-cache" } });
    assert.equal(backend.seen.filter((r) => r.url === "/plain?nc").length, 3);
  });

  it("asks the backend when the request's max-age is below the response's age", async () => {
    const path = "/plain?max-age-0";
    await fetchText(proxy.port, path);
    await new Promise((resolve) => setTimeout(resolve, 1100));
    const reply = await fetchText(proxy.port, path, { headers: { "cache-control": "max-age=0" } });
    assert.notEqual(reply.headers["x-cache"], "HIT");
    assert.equal(backend.seen.filter((r) => r.url === path).length, 2);
  });

  it("answers 504 for only-if-cached when nothing is stored", async () => {
    const reply = await fetchText(proxy.port, "/plain?oic", {
      headers: { "cache-control": "only-if-cached" },
    });
    assert.equal(reply.status, 504);
    assert.equal(backend.seen.filter((r) => r.url === "/plain?oic").length, 0);
  });
});
