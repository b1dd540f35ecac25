import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import { fetchText, startBackend, type TestBackend } from "../http/helpers.js";
import { type CachingProxy, startCachingProxy } from "./helpers.js";

describe("concurrent misses reach the backend once", () => {
  let backend: TestBackend;
  let proxy: CachingProxy;
  let release: () => void = () => {};
  const held = new Promise<void>((resolve) => {
    release = resolve;
  });

  before(async () => {
    backend = await startBackend("b", (req, res) => {
      req.resume();
      // The first answer waits until every request has arrived at the proxy.
      void held.then(() => {
        res.writeHead(200, { "cache-control": "max-age=60" });
        res.end("shared answer");
      });
    });
    proxy = await startCachingProxy([backend]);
  });

  after(async () => {
    release();
    await proxy.close();
    await backend.close();
  });

  it("sends one request to the backend for twenty concurrent misses of one URL", async () => {
    const replies = Array.from({ length: 20 }, () => fetchText(proxy.port, "/hot"));
    const deadline = Date.now() + 5000;
    while (proxy.zone.counters.coalesced < 19 && Date.now() < deadline) {
      await new Promise((resolve) => setTimeout(resolve, 10));
    }
    release();
    const answers = await Promise.all(replies);
    assert.equal(backend.seen.length, 1);
    for (const reply of answers) {
      assert.equal(reply.status, 200);
      assert.equal(reply.body, "shared answer");
    }
    assert.equal(answers.filter((r) => r.headers["x-cache"] === "HIT").length, 19);
  });
});
