/** A backend that answers garbage or hangs up gets the client a 502 with a request id. */
import assert from "node:assert/strict";
import { once } from "node:events";
import { createServer, type Server } from "node:net";
import { after, describe, it } from "node:test";
import { fetchText, startProxy, type TestProxy } from "./helpers.js";

/** A raw TCP "backend" that does `behave` with every connection. */
async function rawBackend(behave: (socket: import("node:net").Socket) => void): Promise<Server> {
  const server = createServer(behave);
  server.listen(0, "127.0.0.1");
  await once(server, "listening");
  return server;
}

describe("http bad backends", () => {
  const servers: Server[] = [];
  let proxy: TestProxy;
  after(async () => {
    await proxy.close();
    for (const server of servers) server.close();
  });

  it("garbage instead of a response head → 502, reported as a failure", async () => {
    const garbage = await rawBackend((socket) => {
      socket.on("data", () => socket.end("SMTP ready\r\n\r\n"));
      socket.on("error", () => {});
    });
    const hangUp = await rawBackend((socket) => {
      socket.on("data", () => socket.destroy());
      socket.on("error", () => {});
    });
    servers.push(garbage, hangUp);
    const port = (server: Server) => (server.address() as { port: number }).port;
    proxy = await startProxy(
      {
        routes: [
          { match: { path: "/garbage" }, pool: "garbage" },
          { match: { path: "/hangup" }, pool: "hangup" },
        ],
      },
      {
        garbage: { backends: [{ address: `127.0.0.1:${port(garbage)}`, name: "g" }] },
        hangup: { backends: [{ address: `127.0.0.1:${port(hangUp)}`, name: "h" }] },
      },
    );
    for (const [path, pool, id] of [
      ["/garbage", "garbage", "g"],
      ["/hangup", "hangup", "h"],
    ]) {
      const reply = await fetchText(proxy.port, path);
      assert.equal(reply.status, 502, path);
      assert.match(reply.body, /^502 Bad Gateway\nrequest id: /);
      const state = proxy.pools.get(pool)!.get(id)!;
      assert.ok(state.counters.failures >= 1, `${path} counted as a failure`);
      assert.equal(state.active + state.inactive, 0);
    }
  });
});
