/** `websocket: false` refuses WebSocket upgrades with 403 before any backend is picked. */
import assert from "node:assert/strict";
import { after, describe, it } from "node:test";
import {
  backendsOf,
  rawExchange,
  startBackend,
  startProxy,
  type TestBackend,
  type TestProxy,
} from "./helpers.js";

describe("http websocket switched off", () => {
  let backend: TestBackend;
  let proxy: TestProxy;
  after(async () => {
    await proxy?.close();
    await backend?.close();
  });

  it("answers 403 to a WebSocket upgrade and leaves the backend untouched", async () => {
    backend = await startBackend("b");
    let upgrades = 0;
    backend.server.on("upgrade", (_req, socket) => {
      upgrades++;
      socket.destroy();
    });
    proxy = await startProxy(
      { default_pool: "p", websocket: false },
      { p: { backends: backendsOf([backend]) } },
    );
    const reply = await rawExchange(
      proxy.port,
      "GET /chat HTTP/1.1\r\nHost: a\r\nConnection: Upgrade\r\nUpgrade: websocket\r\n" +
        "Sec-WebSocket-Version: 13\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n\r\n",
      false,
    );
    assert.match(reply, /^HTTP\/1\.1 403 /);
    assert.equal(upgrades, 0);
    assert.equal(proxy.pools.get("p")!.get("b")!.counters.picks, 0, "no backend was picked");
  });
});
