/** A client that disconnects mid-request leaves no upstream socket and no count behind. */
import assert from "node:assert/strict";
import { request } from "node:http";
import { after, describe, it } from "node:test";
import { eventually } from "../support/wait.js";
import {
  backendsOf,
  startBackend,
  startProxy,
  type TestBackend,
  type TestProxy,
} from "./helpers.js";

describe("http client abort", () => {
  let backend: TestBackend;
  let proxy: TestProxy;
  let openUpstream = 0;
  const timers = new Set<NodeJS.Timeout>();

  after(async () => {
    for (const timer of timers) clearTimeout(timer);
    await proxy.close();
    await backend.close();
  });

  const counts = (): number => {
    const state = proxy.pools.get("p")!.backends[0];
    return state.active + state.inactive;
  };

  it("while waiting for the response: upstream request aborted, counts back to 0", async () => {
    backend = await startBackend("slow", (req, res) => {
      openUpstream++;
      req.resume();
      req.socket.once("close", () => openUpstream--);
      const timer = setTimeout(() => res.end("late"), 10_000);
      timers.add(timer);
    });
    proxy = await startProxy(
      { default_pool: "p", upstream_keepalive: 4 },
      { p: { backends: backendsOf([backend]) } },
    );
    const clients = Array.from({ length: 5 }, () => {
      const req = request({ host: "127.0.0.1", port: proxy.port, path: "/", agent: false });
      req.on("error", () => {});
      req.end();
      return req;
    });
    assert.ok(await eventually(() => backend.seen.length >= 4), "requests reached the backend");
    assert.ok(counts() >= 5, "five requests counted (four active, one queued)");
    for (const req of clients) req.destroy();
    assert.ok(await eventually(() => counts() === 0), `counts stayed at ${counts()}`);
    assert.ok(await eventually(() => openUpstream === 0), `${openUpstream} upstream sockets left`);
    assert.equal(proxy.listener.stats().inFlight, 0);
  });

  it("in the middle of an upload: counts back to 0", async () => {
    const seenBefore = backend.seen.length;
    const req = request({
      host: "127.0.0.1",
      port: proxy.port,
      path: "/upload",
      method: "POST",
      agent: false,
      headers: { "content-length": 1_000_000 },
    });
    req.on("error", () => {});
    req.write(Buffer.alloc(10_000));
    assert.ok(
      await eventually(() => backend.seen.length > seenBefore),
      "upload reached the backend",
    );
    req.destroy();
    assert.ok(await eventually(() => counts() === 0), `counts stayed at ${counts()}`);
    assert.ok(await eventually(() => openUpstream === 0), `${openUpstream} upstream sockets left`);
  });
});
