/**
 * A hit's head is serialized once and reused (src/http/cache-hit.ts): what changes with time
 * must still be current on every hit — Age, the ttl of Cache-Status, and Date when the
 * backend sent none — and the body must be the stored bytes, small or large, on keep-alive
 * connections (the lean path) as on closing ones (the general path).
 */
import assert from "node:assert/strict";
import { createHash } from "node:crypto";
import { Agent } from "node:http";
import { after, before, describe, it } from "node:test";
import { fetchText, startBackend, type TestBackend } from "../http/helpers.js";
import { waitFor } from "../support/wait.js";
import { type CachingProxy, startCachingProxy } from "./helpers.js";

const LARGE = Buffer.alloc(100 * 1024, "0123456789abcdef");

describe("cache hits keep Age, ttl and Date current", () => {
  let backend: TestBackend;
  let proxy: CachingProxy;
  const agent = new Agent({ keepAlive: true, maxSockets: 1 });

  before(async () => {
    backend = await startBackend("b", (req, res) => {
      req.resume();
      // No Date from the backend: the proxy must add a current one to every hit.
      res.sendDate = false;
      res.setHeader("cache-control", "max-age=60");
      res.end(req.url === "/large" ? LARGE : "small answer");
    });
    proxy = await startCachingProxy([backend]);
  });

  after(async () => {
    agent.destroy();
    await proxy.close();
    await backend.close();
  });

  it("counts Age up and the ttl down on hits over one keep-alive connection", async () => {
    const miss = await fetchText(proxy.port, "/small", { agent });
    assert.equal(miss.headers["x-cache"], "MISS");
    const first = await fetchText(proxy.port, "/small", { agent });
    assert.equal(first.headers["x-cache"], "HIT");
    assert.equal(first.body, "small answer");
    let later = first;
    await waitFor(
      "a hit with a larger Age",
      async () => {
        later = await fetchText(proxy.port, "/small", { agent });
        return Number(later.headers.age) > Number(first.headers.age);
      },
      10_000,
      200,
    );
    assert.equal(later.headers["x-cache"], "HIT");
    assert.equal(later.body, "small answer");
    for (const hit of [first, later]) {
      const ttl = Number(/ttl=(-?\d+)$/.exec(String(hit.headers["cache-status"]))?.[1]);
      // ttl is the lifetime less the exact age, Age its whole seconds: they add up to 59 or 60.
      assert.ok(
        [59, 60].includes(ttl + Number(hit.headers.age)),
        `ttl ${ttl}, age ${hit.headers.age}`,
      );
      const date = Date.parse(String(hit.headers.date));
      assert.ok(Math.abs(date - Date.now()) < 5_000, `a current Date: ${hit.headers.date}`);
    }
    assert.equal(backend.seen.filter((r) => r.url === "/small").length, 1);
  });

  it("sends a large stored body whole, on keep-alive and on closing connections", async () => {
    await fetchText(proxy.port, "/large", { agent });
    const sha = createHash("sha256").update(LARGE.toString()).digest("hex");
    for (const options of [{ agent }, {}]) {
      const hit = await fetchText(proxy.port, "/large", options);
      assert.equal(hit.headers["x-cache"], "HIT");
      assert.equal(hit.headers["content-length"], String(LARGE.length));
      assert.equal(createHash("sha256").update(hit.body).digest("hex"), sha);
    }
    assert.equal(backend.seen.filter((r) => r.url === "/large").length, 1);
  });

  it("closes after a hit the client asked to close on", async () => {
    await fetchText(proxy.port, "/small", { agent });
    const hit = await fetchText(proxy.port, "/small", { headers: { connection: "close" } });
    assert.equal(hit.headers["x-cache"], "HIT");
    assert.equal(hit.headers.connection, "close");
    assert.equal(hit.body, "small answer");
  });
});
