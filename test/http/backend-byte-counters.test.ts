/**
 * A backend's byte counters mean the same on every data plane: bytesIn is what clients sent
 * towards it, bytesOut what came back to them (the metrics' help text says so).
 */
import assert from "node:assert/strict";
import { once } from "node:events";
import { after, describe, it } from "node:test";
import { WebSocket, WebSocketServer } from "ws";
import { eventually } from "../support/wait.js";
import {
  backendsOf,
  fetchText,
  startBackend,
  startProxy,
  type TestBackend,
  type TestProxy,
} from "./helpers.js";

const REQUEST_BODY = "x".repeat(100);
const RESPONSE_BODY = "y".repeat(1000);

describe("http backend byte counters", () => {
  let backend: TestBackend;
  let proxy: TestProxy;
  let wss: WebSocketServer | undefined;
  after(async () => {
    for (const client of wss?.clients ?? []) client.terminate();
    wss?.close();
    await proxy?.close();
    await backend?.close();
  });

  it("count the request body as bytesIn and the response body as bytesOut", async () => {
    backend = await startBackend("b", (req, res) => {
      req.resume();
      req.on("end", () => res.end(RESPONSE_BODY));
    });
    proxy = await startProxy({ default_pool: "p" }, { p: { backends: backendsOf([backend]) } });
    const reply = await fetchText(proxy.port, "/upload", { method: "POST", body: REQUEST_BODY });
    assert.equal(reply.status, 200);
    assert.equal(reply.body, RESPONSE_BODY);
    const state = proxy.pools.get("p")!.get("b")!;
    assert.ok(await eventually(() => state.counters.requests === 1), "request reported");
    assert.equal(state.counters.bytesIn, REQUEST_BODY.length);
    assert.equal(state.counters.bytesOut, RESPONSE_BODY.length);
  });

  it("count a tunnel's client bytes as bytesIn and the backend's as bytesOut", async () => {
    await proxy.close();
    await backend.close();
    backend = await startBackend("ws");
    wss = new WebSocketServer({ server: backend.server });
    wss.on("connection", (socket) => socket.on("message", () => socket.send("ok")));
    proxy = await startProxy({ default_pool: "p" }, { p: { backends: backendsOf([backend]) } });
    const client = new WebSocket(`ws://127.0.0.1:${proxy.port}/chat`);
    await once(client, "open");
    client.send("x".repeat(100_000));
    await once(client, "message");
    client.close();
    await once(client, "close");
    const state = proxy.pools.get("p")!.get("ws")!;
    assert.ok(await eventually(() => state.active + state.inactive === 0), "tunnel released");
    assert.ok(state.counters.bytesIn > 100_000, `bytesIn ${state.counters.bytesIn}`);
    assert.ok(state.counters.bytesOut < 1000, `bytesOut ${state.counters.bytesOut}`);
  });
});
