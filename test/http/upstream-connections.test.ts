/**
 * Upstream connections: keep-alive reuse, the `upstream_keepalive` bound, no reuse at 0, the
 * idle close, a close-delimited body, and a backend that hangs up mid-body.
 */
import assert from "node:assert/strict";
import { once } from "node:events";
import { createServer, type Server, type Socket } from "node:net";
import { after, describe, it } from "node:test";
import { eventually } from "../support/wait.js";
import {
  backendsOf,
  fetchText,
  rawExchange,
  startBackend,
  startProxy,
  type TestBackend,
} from "./helpers.js";

/** Counts the TCP connections a backend accepted and how many are open. */
function countConnections(backend: TestBackend): { accepted: number; open: number } {
  const counts = { accepted: 0, open: 0 };
  backend.server.on("connection", (socket: Socket) => {
    counts.accepted++;
    counts.open++;
    socket.on("close", () => counts.open--);
  });
  return counts;
}

/** A raw TCP backend that does `behave` with each connection. */
async function rawBackend(behave: (socket: Socket) => void): Promise<Server> {
  const server = createServer(behave);
  server.listen(0, "127.0.0.1");
  await once(server, "listening");
  return server;
}

describe("http upstream connections", () => {
  const cleanup: (() => Promise<void> | void)[] = [];
  after(async () => {
    for (const close of cleanup.reverse()) await close();
  });

  it("sequential requests reuse one keep-alive connection", async () => {
    const backend = await startBackend("b");
    cleanup.push(() => backend.close());
    const counts = countConnections(backend);
    const proxy = await startProxy(
      { default_pool: "p" },
      { p: { backends: backendsOf([backend]) } },
    );
    cleanup.push(() => proxy.close());
    for (let i = 0; i < 5; i++) assert.equal((await fetchText(proxy.port, "/")).body, "b");
    assert.equal(counts.accepted, 1);
  });

  it("upstream_keepalive bounds the sockets; the requests beyond it wait and are served", async () => {
    const held: (() => void)[] = [];
    const backend = await startBackend("slow", (_req, res) => {
      held.push(() => res.end("ok"));
    });
    cleanup.push(() => backend.close());
    const counts = countConnections(backend);
    const proxy = await startProxy(
      { default_pool: "p", upstream_keepalive: 2 },
      { p: { backends: backendsOf([backend]) } },
    );
    cleanup.push(() => proxy.close());
    const replies = Array.from({ length: 6 }, () => fetchText(proxy.port, "/"));
    assert.ok(await eventually(() => held.length === 2), "two requests reach the backend");
    const state = proxy.pools.get("p")!.backends[0];
    // The six client connections reach the listener in their own time on a busy machine.
    assert.ok(await eventually(() => state.inactive === 4), "the queued ones count as inactive");
    assert.equal(state.active, 2);
    // Release them as they come; each freed socket takes the next queued request.
    let served = 0;
    while (served < 6) {
      assert.ok(await eventually(() => held.length > 0), "a request arrives");
      held.shift()!();
      served++;
    }
    for (const reply of await Promise.all(replies)) assert.equal(reply.body, "ok");
    assert.equal(counts.accepted, 2);
    assert.equal(state.active + state.inactive, 0);
  });

  it("upstream_keepalive 0: a new connection per request, each closed after its answer", async () => {
    const backend = await startBackend("b");
    cleanup.push(() => backend.close());
    const counts = countConnections(backend);
    const proxy = await startProxy(
      { default_pool: "p", upstream_keepalive: 0 },
      { p: { backends: backendsOf([backend]) } },
    );
    cleanup.push(() => proxy.close());
    for (let i = 0; i < 3; i++) assert.equal((await fetchText(proxy.port, "/")).body, "b");
    assert.equal(counts.accepted, 3);
    assert.equal(backend.seen[0].headers.connection, "close");
    assert.ok(await eventually(() => counts.open === 0), "every upstream socket closed");
  });

  it("an idle upstream connection is closed after timeouts.upstream_idle", async () => {
    const backend = await startBackend("b");
    cleanup.push(() => backend.close());
    const counts = countConnections(backend);
    const proxy = await startProxy(
      { default_pool: "p", timeouts: { upstream_idle: "200ms" } },
      { p: { backends: backendsOf([backend]) } },
    );
    cleanup.push(() => proxy.close());
    assert.equal((await fetchText(proxy.port, "/")).body, "b");
    assert.equal(counts.open, 1);
    assert.ok(await eventually(() => counts.open === 0), "the idle socket was closed");
    assert.equal((await fetchText(proxy.port, "/")).body, "b", "a new one is made on demand");
    assert.equal(counts.accepted, 2);
  });

  it("a body delimited by the backend's close reaches the client whole", async () => {
    const server = await rawBackend((socket) => {
      socket.on("error", () => {});
      socket.once("data", () =>
        socket.end("HTTP/1.1 200 OK\r\nX-Kind: close\r\n\r\nuntil the end"),
      );
    });
    cleanup.push(() => {
      server.close();
    });
    const port = (server.address() as { port: number }).port;
    const proxy = await startProxy(
      { default_pool: "p" },
      { p: { backends: [{ address: `127.0.0.1:${port}`, name: "c" }] } },
    );
    cleanup.push(() => proxy.close());
    for (let i = 0; i < 2; i++) {
      const reply = await fetchText(proxy.port, "/");
      assert.equal(reply.status, 200);
      assert.equal(reply.headers["x-kind"], "close");
      assert.equal(reply.body, "until the end");
    }
    const state = proxy.pools.get("p")!.backends[0];
    assert.equal(state.counters.failures, 0);
  });

  it("a backend hanging up mid-body cuts the client's response and counts a failure", async () => {
    const server = await rawBackend((socket) => {
      socket.on("error", () => {});
      socket.once("data", () =>
        socket.end("HTTP/1.1 200 OK\r\nContent-Length: 100\r\n\r\nonly part of it"),
      );
    });
    cleanup.push(() => {
      server.close();
    });
    const port = (server.address() as { port: number }).port;
    const proxy = await startProxy(
      { default_pool: "p" },
      { p: { backends: [{ address: `127.0.0.1:${port}`, name: "h" }] } },
    );
    cleanup.push(() => proxy.close());
    const reply = await rawExchange(proxy.port, "GET / HTTP/1.1\r\nHost: a\r\n\r\n", false);
    assert.match(reply, /^HTTP\/1\.1 200 /);
    assert.ok(reply.endsWith("only part of it"), "what came is passed, then the cut");
    const state = proxy.pools.get("p")!.backends[0];
    assert.ok(await eventually(() => state.counters.failures === 1), "counted as a failure");
    assert.equal(state.active + state.inactive, 0);
  });
});
