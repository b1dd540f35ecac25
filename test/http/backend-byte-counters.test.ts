/**
 * A backend's byte counters mean the same on every data plane: bytesIn is what clients sent
 * towards it, bytesOut what came back to them (the metrics' help text says so).
 */
import assert from "node:assert/strict";
import { after, describe, it } from "node:test";
import {
  backendsOf,
  eventually,
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
  after(async () => {
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
});
