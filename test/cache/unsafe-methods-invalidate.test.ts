import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import { fetchText, startBackend, type TestBackend } from "../http/helpers.js";
import { type CachingProxy, startCachingProxy } from "./helpers.js";

describe("unsafe methods invalidate", () => {
  let backend: TestBackend;
  let proxy: CachingProxy;
  let status = 200;

  before(async () => {
    backend = await startBackend("b", (req, res) => {
      req.resume();
      req.on("end", () => {
        if (req.method === "GET") {
          res.writeHead(200, { "cache-control": "max-age=60" });
          res.end(`get ${req.url}`);
          return;
        }
        res.writeHead(status, { location: "/other", "content-location": "http://h.example/third" });
        res.end();
      });
    });
    proxy = await startCachingProxy([backend]);
  });

  after(async () => {
    await proxy.close();
    await backend.close();
  });

  const cached = async (path: string) => {
    await fetchText(proxy.port, path, { headers: { host: "h.example" } });
    const hit = await fetchText(proxy.port, path, { headers: { host: "h.example" } });
    assert.equal(hit.headers["x-cache"], "HIT");
  };
  const state = async (path: string) =>
    (await fetchText(proxy.port, path, { headers: { host: "h.example" } })).headers["x-cache"];

  it("removes the URL, its Location and its Content-Location after a successful POST", async () => {
    await cached("/item");
    await cached("/other");
    await cached("/third");
    const post = await fetchText(proxy.port, "/item", {
      method: "POST",
      body: "x",
      headers: { host: "h.example" },
    });
    assert.equal(post.headers["x-cache"], "BYPASS");
    assert.equal(await state("/item"), "MISS");
    assert.equal(await state("/other"), "MISS");
    assert.equal(await state("/third"), "MISS");
  });

  it("keeps the URL after a failed DELETE", async () => {
    await cached("/kept");
    status = 500;
    await fetchText(proxy.port, "/kept", { method: "DELETE", headers: { host: "h.example" } });
    status = 200;
    assert.equal(await state("/kept"), "HIT");
  });
});
