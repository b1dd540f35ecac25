/** A graceful stop finishes the request in flight, refuses new connections, then resolves. */
import assert from "node:assert/strict";
import { request } from "node:http";
import { after, describe, it } from "node:test";
import { eventually } from "../support/wait.js";
import { backendsOf, fetchText, startBackend, startProxy, type TestBackend } from "./helpers.js";

describe("http graceful shutdown", () => {
  let backend: TestBackend;
  after(async () => {
    await backend.close();
  });

  it("finishes the in-flight request, then stops", async () => {
    let release: () => void = () => {};
    backend = await startBackend("b", (req, res) => {
      req.resume();
      if (req.url === "/slow") {
        release = () => res.end("finished");
      } else {
        res.end("quick");
      }
    });
    const proxy = await startProxy(
      { default_pool: "p" },
      { p: { backends: backendsOf([backend]) } },
    );
    const port = proxy.port;
    const inFlight = fetchText(port, "/slow");
    assert.ok(await eventually(() => backend.seen.length === 1));
    let stopped = false;
    const stopping = proxy.listener.stop({ graceful: true, timeoutMs: 10_000 }).then(() => {
      stopped = true;
    });
    // New connections are refused while the old request is still running.
    await assert.rejects(fetchText(port, "/"), /ECONNREFUSED/);
    assert.equal(stopped, false, "stop waits for the request in flight");
    release();
    const reply = await inFlight;
    assert.equal(reply.status, 200);
    assert.equal(reply.body, "finished");
    assert.equal(reply.headers.connection, "close");
    await stopping;
    assert.equal(stopped, true);
    await proxy.close();
  });

  it("cuts what remains after timeoutMs", async () => {
    const proxy = await startProxy(
      { default_pool: "p" },
      { p: { backends: backendsOf([backend]) } },
    );
    const req = request({ host: "127.0.0.1", port: proxy.port, path: "/slow", agent: false });
    const failed = new Promise<boolean>((resolve) => {
      req.on("error", () => resolve(true));
      req.on("response", (res) => {
        res.resume();
        res.on("end", () => resolve(false));
      });
    });
    req.end();
    assert.ok(await eventually(() => proxy.listener.stats().inFlight === 1));
    await proxy.listener.stop({ graceful: true, timeoutMs: 100 });
    assert.equal(await failed, true, "the unfinished request was cut");
    await proxy.close();
  });
});
