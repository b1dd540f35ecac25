/**
 * Requests queued for a backend's sockets whose clients left are skipped one after the other
 * when a socket frees up, without one nested call per skipped request (thousands of them
 * overflowed the stack).
 */
import assert from "node:assert/strict";
import { once } from "node:events";
import { createServer, type ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";
import { describe, it } from "node:test";
import type {
  UpstreamConnection,
  UpstreamHandler,
  UpstreamRequest,
} from "../../src/http/upstream/client.js";
import { SocketPool } from "../../src/http/upstream/socket-pool.js";

const ABANDONED = 50_000;

/** A handler that records the outcome; `abandoned` ones abort as soon as they get a socket. */
function handler(abandoned: boolean, outcome: string[]): UpstreamHandler {
  const self: UpstreamHandler = {
    onUpstreamConnect(connection: UpstreamConnection) {
      if (abandoned) connection.abort(self, new Error("client gone"));
    },
    onUpstreamHead: () => true,
    onUpstreamData: () => true,
    onUpstreamEnd: () => outcome.push("end"),
    onUpstreamError: (error) => outcome.push(error.message),
    onUpstreamBodySent: () => {},
  };
  return self;
}

describe("upstream socket pool queue", () => {
  it("skips a long run of abandoned requests and serves the one behind them", async () => {
    const held: ServerResponse[] = [];
    const backend = createServer((req, res) => {
      req.resume();
      if (req.url === "/hold") held.push(res);
      else res.end("ok");
    });
    backend.listen(0, "127.0.0.1");
    await once(backend, "listening");
    const port = (backend.address() as AddressInfo).port;
    const pool = new SocketPool("127.0.0.1", port, {
      maxConnections: 1,
      closeEach: false,
      // As long as the test's bound: a loaded machine takes seconds over the queue.
      connectTimeoutMs: 60_000,
      responseTimeoutMs: 60_000,
      bodyTimeoutMs: 60_000,
      idleTimeoutMs: 60_000,
      maxHeaderSize: 16_384,
    });
    const request = (path: string): UpstreamRequest => ({
      method: "GET",
      path,
      fields: "",
      headers: ["host", "backend"],
      body: null,
      chunked: false,
    });
    try {
      const first: string[] = [];
      pool.dispatch(request("/hold"), handler(false, first));
      const skipped: string[] = [];
      for (let i = 0; i < ABANDONED; i++) pool.dispatch(request("/"), handler(true, skipped));
      const last: string[] = [];
      pool.dispatch(request("/"), handler(false, last));
      // A bound for a stuck queue, not a speed limit: a loaded machine takes seconds.
      const deadline = Date.now() + 60_000;
      while (held.length === 0 && Date.now() < deadline) {
        await new Promise((resolve) => setTimeout(resolve, 10));
      }
      held[0].end("done");
      while (last.length === 0 && Date.now() < deadline) {
        await new Promise((resolve) => setTimeout(resolve, 10));
      }
      assert.deepEqual(first, ["end"]);
      assert.equal(skipped.length, ABANDONED);
      assert.deepEqual(last, ["end"], "the request behind the abandoned ones was served");
    } finally {
      await pool.destroy();
      backend.closeAllConnections();
      backend.close();
    }
  });
});
