/** An Upgrade request follows its route like any other: a fixed answer, or a redirect, never a tunnel. */
import assert from "node:assert/strict";
import { after, describe, it } from "node:test";
import { rawExchange, startProxy, type TestProxy } from "./helpers.js";

const UPGRADE =
  "Connection: Upgrade\r\nUpgrade: websocket\r\nSec-WebSocket-Version: 13\r\n" +
  "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n\r\n";

describe("http upgrade on respond and redirect routes", () => {
  let proxy: TestProxy;
  after(async () => {
    await proxy?.close();
  });

  it("answers the route's fixed status, and redirects to the chosen backend", async () => {
    // The backend address is unreachable: nothing may be tunnelled to it.
    proxy = await startProxy(
      {
        routes: [
          { match: { path_prefix: "/down/" }, respond: { status: 503, body: "maintenance" } },
          { match: { path_prefix: "/" }, pool: "p", redirect: { status: 307 } },
        ],
      },
      {
        p: {
          backends: [
            { name: "a", address: "127.0.0.1:1", redirect_url: "http://a.example.test:8001" },
          ],
        },
      },
    );
    const fixed = await rawExchange(
      proxy.port,
      `GET /down/x HTTP/1.1\r\nHost: h\r\n${UPGRADE}`,
      false,
    );
    assert.match(fixed, /^HTTP\/1\.1 503 /);

    const moved = await rawExchange(
      proxy.port,
      `GET /chat?room=1 HTTP/1.1\r\nHost: h\r\n${UPGRADE}`,
      false,
    );
    assert.match(moved, /^HTTP\/1\.1 307 /);
    assert.match(moved, /\r\nLocation: http:\/\/a\.example\.test:8001\/chat\?room=1\r\n/);
    assert.equal(proxy.pools.get("p")!.get("a")!.active, 0);
  });
});
