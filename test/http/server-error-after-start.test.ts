/**
 * An error of the listening socket after start (accept EMFILE when file descriptors run out)
 * is logged, as the tcp and udp listeners do, instead of being an unhandled 'error' event
 * that ends the whole process.
 */
import assert from "node:assert/strict";
import type { Server } from "node:http";
import { after, describe, it } from "node:test";
import {
  backendsOf,
  fetchText,
  startBackend,
  startProxy,
  type TestBackend,
  type TestProxy,
} from "./helpers.js";

describe("http listener server errors", () => {
  let backend: TestBackend;
  let proxy: TestProxy;
  after(async () => {
    await proxy?.close();
    await backend?.close();
  });

  it("survives an accept error and goes on serving", async () => {
    backend = await startBackend("b");
    proxy = await startProxy({ default_pool: "p" }, { p: { backends: backendsOf([backend]) } });
    const server = (proxy.listener as unknown as { server: Server }).server;
    const emfile = Object.assign(new Error("accept EMFILE"), { code: "EMFILE", syscall: "accept" });
    assert.doesNotThrow(() => server.emit("error", emfile));
    const reply = await fetchText(proxy.port, "/");
    assert.equal(reply.status, 200);
    assert.equal(reply.body, "b");
  });
});
