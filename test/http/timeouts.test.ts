/**
 * Timeouts end in the right status: connect → failover or 504, a slow backend → 504, a slow
 * client head → 408, an idle keep-alive connection is closed.
 */
import assert from "node:assert/strict";
import { connect } from "node:net";
import { after, describe, it } from "node:test";
import { eventually } from "../support/wait.js";
import {
  backendsOf,
  blackholePort,
  fetchText,
  rawExchange,
  startBackend,
  startProxy,
  type TestBackend,
} from "./helpers.js";

describe("http timeouts", () => {
  const cleanup: (() => Promise<void> | void)[] = [];
  after(async () => {
    for (const close of cleanup.reverse()) await close();
  });

  it("a connect timeout fails over to another backend, or ends in 504", async () => {
    const hole = await blackholePort();
    cleanup.push(() => hole.close());
    const port = hole.port;
    const live = await startBackend("live");
    cleanup.push(() => live.close());
    const proxy = await startProxy(
      {
        routes: [{ match: { path: "/only-dead" }, pool: "dead" }],
        default_pool: "mixed",
        timeouts: { connect: "150ms" },
        retries: { budget_percent: 100, min_retries_per_second: 100 },
      },
      {
        mixed: {
          algorithm: "rr",
          backends: [{ address: `127.0.0.1:${port}`, name: "hole" }, ...backendsOf([live])],
        },
        dead: { backends: [{ address: `127.0.0.1:${port}`, name: "hole" }] },
      },
    );
    cleanup.push(() => proxy.close());
    for (let i = 0; i < 2; i++) {
      const reply = await fetchText(proxy.port, "/");
      assert.equal(reply.status, 200);
      assert.equal(reply.body, "live");
    }
    const reply = await fetchText(proxy.port, "/only-dead");
    assert.equal(reply.status, 504);
    assert.ok(proxy.pools.get("mixed")!.get("hole")!.counters.failures >= 1);
  });

  it("a body never sent after its answer does not hold the connection past timeouts.idle", async () => {
    const proxy = await startProxy(
      {
        default_pool: "p",
        timeouts: { idle: "300ms" },
        routes: [{ match: { path_prefix: "/fixed" }, respond: { status: 403 } }],
      },
      { p: { backends: [{ address: "127.0.0.1:1", name: "unused" }] } },
    );
    cleanup.push(() => proxy.close());
    for (const tail of ["abc", "0123456789"]) {
      // A stalled body (3 of 10 bytes), and a complete one after which nothing comes.
      const socket = connect(proxy.port, "127.0.0.1");
      let received = "";
      let closed = false;
      socket.on("data", (chunk: Buffer) => {
        received += chunk.toString("latin1");
      });
      socket.on("close", () => {
        closed = true;
      });
      socket.on("error", () => {});
      socket.write(`POST /fixed HTTP/1.1\r\nHost: x\r\nContent-Length: 10\r\n\r\n${tail}`);
      try {
        assert.ok(await eventually(() => closed, 5000), `closed (${tail})`);
        assert.match(received, /^HTTP\/1\.1 403 /);
        assert.doesNotMatch(received, / 408 /, "nothing but the answer");
      } finally {
        socket.destroy();
      }
    }
  });

  it("an idle keep-alive client connection is closed after timeouts.idle", async () => {
    const backend = await startBackend("b");
    cleanup.push(() => backend.close());
    const proxy = await startProxy(
      { default_pool: "p", timeouts: { idle: "200ms" } },
      { p: { backends: backendsOf([backend]) } },
    );
    cleanup.push(() => proxy.close());
    const socket = connect(proxy.port, "127.0.0.1");
    cleanup.push(() => {
      socket.destroy();
    });
    let received = "";
    let closed = false;
    socket.on("data", (chunk: Buffer) => {
      received += chunk.toString();
    });
    socket.on("close", () => {
      closed = true;
    });
    socket.write("GET / HTTP/1.1\r\nHost: a\r\n\r\n");
    assert.ok(await eventually(() => received.endsWith("\r\n\r\nb")), "first answer");
    assert.equal(closed, false, "keep-alive: the connection stays open after the answer");
    assert.ok(await eventually(() => closed), "the idle connection was closed");
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
