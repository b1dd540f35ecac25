/** Timeouts end in the right status: a slow backend → 504, a slow client head → 408. */
import assert from "node:assert/strict";
import { after, describe, it } from "node:test";
import {
  backendsOf,
  fetchText,
  rawExchange,
  startBackend,
  startProxy,
  type TestBackend,
} from "./helpers.js";

describe("http timeouts", () => {
  const cleanup: (() => Promise<void>)[] = [];
  after(async () => {
    for (const close of cleanup.reverse()) await close();
  });

  it("a backend slower than timeouts.response gives 504 with a request id", async () => {
    const timers = new Set<NodeJS.Timeout>();
    const slow: TestBackend = await startBackend("slow", (_req, res) => {
      const timer = setTimeout(() => res.end("late"), 5000);
      timers.add(timer);
      res.on("close", () => clearTimeout(timer));
    });
    cleanup.push(async () => {
      for (const timer of timers) clearTimeout(timer);
      await slow.close();
    });
    const proxy = await startProxy(
      { default_pool: "p", timeouts: { response: "200ms" }, retries: { attempts: 0 } },
      { p: { backends: backendsOf([slow]) } },
    );
    cleanup.push(() => proxy.close());
    const reply = await fetchText(proxy.port, "/");
    assert.equal(reply.status, 504);
    assert.match(reply.body, /^504 Gateway Timeout\nrequest id: .+/);
    assert.equal(reply.headers["x-request-id"], reply.body.split("request id: ")[1].trim());
    const state = proxy.pools.get("p")!.backends[0];
    assert.equal(state.counters.failures, 1);
    assert.equal(state.active + state.inactive, 0);
  });

  it("a client that never finishes its head gets 408 (slowloris)", async () => {
    const backend = await startBackend("b");
    cleanup.push(() => backend.close());
    const proxy = await startProxy(
      { default_pool: "p", timeouts: { request_header: "300ms" } },
      { p: { backends: backendsOf([backend]) } },
    );
    cleanup.push(() => proxy.close());
    const reply = await rawExchange(proxy.port, "GET / HTTP/1.1\r\nHost: a\r\nX-Slow: ", false);
    assert.match(reply, /^HTTP\/1\.1 408 /);
    assert.equal(backend.seen.length, 0);
  });
});
