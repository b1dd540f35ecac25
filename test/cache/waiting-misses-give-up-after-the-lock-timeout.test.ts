import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import { fetchText, startBackend, type TestBackend } from "../http/helpers.js";
import { type CachingProxy, startCachingProxy } from "./helpers.js";

describe("waiting misses give up after the lock timeout", () => {
  let backend: TestBackend;
  let proxy: CachingProxy;
  let release: () => void = () => {};

  before(async () => {
    backend = await startBackend("b", (req, res) => {
      req.resume();
      const n = backend.seen.length;
      const answer = () => {
        res.writeHead(200, { "cache-control": "max-age=60" });
        res.end(`answer ${n}`);
      };
      // The first request hangs until the test releases it; later ones answer at once.
      if (n === 1) {
        release = () => {
          release = () => {};
          answer();
        };
      } else answer();
    });
    proxy = await startCachingProxy([backend], { lock_timeout: "200ms" });
  });

  after(async () => {
    release();
    await proxy.close();
    await backend.close();
  });

  it("sends a waiting request to the backend itself once lock_timeout passed", async () => {
    const first = fetchText(proxy.port, "/slow");
    const deadline = Date.now() + 5000;
    while (backend.seen.length === 0 && Date.now() < deadline) {
      await new Promise((resolve) => setTimeout(resolve, 10));
    }
    const second = await fetchText(proxy.port, "/slow");
    assert.equal(second.status, 200);
    assert.equal(second.body, "answer 2");
    assert.equal(proxy.zone.counters.coalesced, 1);
    release();
    assert.equal((await first).body, "answer 1");
  });
});
