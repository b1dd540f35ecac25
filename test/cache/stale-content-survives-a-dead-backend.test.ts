import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import { fetchText, startBackend, type TestBackend } from "../http/helpers.js";
import { type CachingProxy, startCachingProxy } from "./helpers.js";

/** A response that is stale as soon as it is stored (its Age is above its max-age). */
const staleHandler =
  (cacheControl: string) =>
  (req: import("node:http").IncomingMessage, res: import("node:http").ServerResponse) => {
    req.resume();
    res.writeHead(200, { "cache-control": cacheControl, age: "100" });
    res.end("kept answer");
  };

describe("stale content survives a dead backend", () => {
  let backend: TestBackend;
  let proxy: CachingProxy;
  let plain: CachingProxy;

  before(async () => {
    backend = await startBackend("b", staleHandler("max-age=10"));
    proxy = await startCachingProxy([backend], { stale_if_error: "10m" });
    plain = await startCachingProxy([backend]);
  });

  after(async () => {
    await proxy.close();
    await plain.close();
    await backend.close();
  });

  it("answers 200 with the stale response after the backend was killed (stale_if_error)", async () => {
    assert.equal((await fetchText(proxy.port, "/s")).status, 200);
    assert.equal((await fetchText(plain.port, "/s")).status, 200);
    await backend.close();
    for (let i = 0; i < 3; i++) {
      const reply = await fetchText(proxy.port, "/s");
      assert.equal(reply.status, 200);
      assert.equal(reply.body, "kept answer");
      assert.equal(reply.headers["x-cache"], "STALE");
      assert.match(String(reply.headers["cache-status"]), /fwd=stale; fwd-status=50\d/);
    }
    // Without stale_if_error the same stale response is not used.
    const without = await fetchText(plain.port, "/s");
    assert.ok(without.status === 502 || without.status === 503, `status ${without.status}`);
  });
});

describe("stale-if-error from the response", () => {
  let backend: TestBackend;
  let proxy: CachingProxy;
  let failing = false;

  before(async () => {
    backend = await startBackend("b", (req, res) => {
      if (failing) {
        req.resume();
        res.writeHead(500);
        res.end("broken");
        return;
      }
      staleHandler("max-age=10, stale-if-error=600")(req, res);
    });
    proxy = await startCachingProxy([backend]);
  });

  after(async () => {
    await proxy.close();
    await backend.close();
  });

  it("stands in for a 500 from the backend", async () => {
    await fetchText(proxy.port, "/e");
    failing = true;
    const reply = await fetchText(proxy.port, "/e");
    assert.equal(reply.status, 200);
    assert.equal(reply.body, "kept answer");
    assert.equal(reply.headers["x-cache"], "STALE");
  });
});
