/** WebSocket (and any Upgrade) passes through: a ws echo works via the proxy. */
import assert from "node:assert/strict";
import { once } from "node:events";
import { connect } from "node:net";
import { after, describe, it } from "node:test";
import { WebSocket, WebSocketServer } from "ws";
import { eventually } from "../support/wait.js";
import {
  backendsOf,
  blackholePort,
  rawExchange,
  startBackend,
  startProxy,
  type TestBackend,
  type TestProxy,
} from "./helpers.js";

describe("http websocket passthrough", () => {
  let backend: TestBackend;
  let proxy: TestProxy;
  let wss: WebSocketServer;
  const seenHeaders: Record<string, string | string[] | undefined>[] = [];

  after(async () => {
    for (const client of wss.clients) client.terminate();
    wss.close();
    await proxy.close();
    await backend.close();
  });

  it("echoes messages both ways and releases the backend when closed", async () => {
    backend = await startBackend("ws");
    wss = new WebSocketServer({ server: backend.server });
    wss.on("connection", (socket, req) => {
      seenHeaders.push(req.headers);
      socket.on("message", (data, binary) => socket.send(data, { binary }));
    });
    proxy = await startProxy({ default_pool: "p" }, { p: { backends: backendsOf([backend]) } });
    const client = new WebSocket(`ws://127.0.0.1:${proxy.port}/chat`);
    await once(client, "open");
    const replies: string[] = [];
    client.on("message", (data) => replies.push(data.toString()));
    for (const text of ["one", "two", "x".repeat(200_000)]) client.send(text);
    assert.ok(await eventually(() => replies.length === 3));
    assert.deepEqual(replies.slice(0, 2), ["one", "two"]);
    assert.equal(replies[2].length, 200_000);
    assert.equal(seenHeaders[0]["x-forwarded-for"], "127.0.0.1");
    const state = proxy.pools.get("p")!.backends[0];
    assert.equal(state.active, 1, "the tunnel holds one active lease");
    assert.equal(proxy.listener.stats().tunnels, 1);
    client.close();
    await once(client, "close");
    assert.ok(await eventually(() => state.active + state.inactive === 0));
    assert.ok(await eventually(() => proxy.listener.stats().tunnels === 0));
  });

  it("a client that leaves while the backend connect hangs leaves no count behind", async () => {
    const hole = await blackholePort();
    const stuck = await startProxy(
      { default_pool: "h" },
      { h: { backends: [{ address: `127.0.0.1:${hole.port}` }] } },
    );
    try {
      const socket = connect(stuck.port, "127.0.0.1");
      socket.on("error", () => {});
      socket.write(
        "GET / HTTP/1.1\r\nHost: a\r\nConnection: Upgrade\r\nUpgrade: websocket\r\n\r\n",
      );
      const state = stuck.pools.get("h")!.backends[0];
      assert.ok(await eventually(() => state.inactive === 1), "the connect is counted inactive");
      socket.destroy();
      assert.ok(await eventually(() => state.active + state.inactive === 0), "count released");
      assert.ok(await eventually(() => stuck.listener.stats().tunnels === 0));
    } finally {
      await stuck.close();
      hole.close();
    }
  });

  it("an upgrade to a dead pool gets 503 on the raw socket", async () => {
    proxy.pools.get("p")!.setHealth(proxy.pools.get("p")!.backends[0].id, "down");
    try {
      const reply = await rawExchange(
        proxy.port,
        "GET /chat HTTP/1.1\r\nHost: a\r\nConnection: Upgrade\r\nUpgrade: websocket\r\n" +
          "Sec-WebSocket-Version: 13\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n\r\n",
        false,
      );
      assert.match(reply, /^HTTP\/1\.1 503 /);
    } finally {
      proxy.pools.get("p")!.setHealth(proxy.pools.get("p")!.backends[0].id, "up");
    }
  });
});
