import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import { fetchText, startBackend, type TestBackend } from "../http/helpers.js";
import { type CachingProxy, startCachingProxy } from "./helpers.js";

describe("Vary keeps variants apart", () => {
  let backend: TestBackend;
  let proxy: CachingProxy;

  before(async () => {
    backend = await startBackend("b", (req, res) => {
      req.resume();
      res.writeHead(200, { "cache-control": "max-age=60", vary: "Accept-Language" });
      res.end(`lang=${req.headers["accept-language"] ?? "none"}`);
    });
    proxy = await startCachingProxy([backend]);
  });

  after(async () => {
    await proxy.close();
    await backend.close();
  });

  it("stores one variant per value of the varying request field", async () => {
    const en = await fetchText(proxy.port, "/v", { headers: { "accept-language": "en" } });
    const de = await fetchText(proxy.port, "/v", { headers: { "accept-language": "de" } });
    assert.equal(en.body, "lang=en");
    assert.equal(de.body, "lang=de");
    assert.equal(de.headers["x-cache"], "MISS");
    const en2 = await fetchText(proxy.port, "/v", { headers: { "accept-language": "en" } });
    const de2 = await fetchText(proxy.port, "/v", { headers: { "accept-language": "de" } });
    const none = await fetchText(proxy.port, "/v");
    assert.equal(en2.body, "lang=en");
    assert.equal(en2.headers["x-cache"], "HIT");
    assert.equal(de2.body, "lang=de");
    assert.equal(de2.headers["x-cache"], "HIT");
    assert.equal(none.body, "lang=none");
    assert.equal(backend.seen.length, 3);
  });
});
