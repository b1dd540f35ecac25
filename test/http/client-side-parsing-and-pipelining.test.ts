/**
 * The client side of the proxy end to end (ballast's own server): heads llhttp refuses are
 * refused before any backend sees them, a request line too long is a 414, a chunked body with
 * broken framing ends in a 400 and a close, pipelined requests are answered in order, an
 * expectation other than 100-continue is a 417, HTTP/1.0 keep-alive is kept, and a request
 * answered before its body arrived leaves the connection usable.
 */
import assert from "node:assert/strict";
import { connect } from "node:net";
import { after, before, describe, it } from "node:test";
import { eventually } from "../support/wait.js";
import {
  backendsOf,
  rawExchange,
  startBackend,
  startProxy,
  type TestBackend,
  type TestProxy,
} from "./helpers.js";

describe("http client side: parsing and pipelining", () => {
  let backend: TestBackend;
  let proxy: TestProxy;

  before(async () => {
    backend = await startBackend("b", (req, res) => {
      req.resume();
      req.on("end", () => res.end(`${req.method} ${req.url}`));
    });
    proxy = await startProxy(
      {
        default_pool: "p",
        max_header_size: 1024,
        routes: [{ match: { path: "/fixed" }, respond: { status: 200, body: "fixed" } }],
      },
      { p: { backends: backendsOf([backend]) } },
    );
  });

  after(async () => {
    await proxy.close();
    await backend.close();
  });

  const refused: [string, string, number][] = [
    ["a bare LF line end", "GET / HTTP/1.1\nHost: a\n\n", 400],
    ["obs-fold", "GET / HTTP/1.1\r\nHost: a\r\nX-A: b\r\n c\r\n\r\n", 400],
    ["a bare CR in a field value", "GET / HTTP/1.1\r\nHost: a\r\nX-A: b\rc\r\n\r\n", 400],
    ["an unknown method", "BREW / HTTP/1.1\r\nHost: a\r\n\r\n", 400],
    ["a signed Content-Length", "POST / HTTP/1.1\r\nHost: a\r\nContent-Length: +3\r\n\r\nabc", 400],
    ["a request line too long", `GET /${"x".repeat(2000)} HTTP/1.1\r\nHost: a\r\n\r\n`, 414],
  ];
  for (const [label, bytes, status] of refused) {
    it(`${label} → ${status} and close; nothing reaches the backend`, async () => {
      const seen = backend.seen.length;
      const reply = await rawExchange(proxy.port, bytes, false);
      assert.match(reply, new RegExp(`^HTTP/1\\.1 ${status} `));
      assert.match(reply, /\r\nconnection: close\r\n/i);
      assert.equal(backend.seen.length, seen);
    });
  }

  it("a chunk size that overflows ends in 400 and a close, with no second answer", async () => {
    const reply = await rawExchange(
      proxy.port,
      "POST /c HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\nfffffffffffffffffff\r\n",
      false,
    );
    assert.match(reply, /^HTTP\/1\.1 400 /);
    assert.equal(reply.match(/HTTP\/1\.1 /g)?.length, 1, "one answer, then the close");
  });

  it("pipelined requests in one packet are answered in order", async () => {
    const paths = ["/1", "/2", "/3", "/4"];
    const bytes =
      paths.map((path) => `GET ${path} HTTP/1.1\r\nHost: a\r\n\r\n`).join("") +
      "GET /last HTTP/1.1\r\nHost: a\r\nConnection: close\r\n\r\n";
    const reply = await rawExchange(proxy.port, bytes, false);
    const bodies = reply.split(/(?=HTTP\/1\.1 )/).map((answer) => answer.split("\r\n\r\n")[1]);
    assert.deepEqual(bodies, ["GET /1", "GET /2", "GET /3", "GET /4", "GET /last"]);
  });

  it("an expectation other than 100-continue is answered 417", async () => {
    const seen = backend.seen.length;
    const reply = await rawExchange(
      proxy.port,
      "POST / HTTP/1.1\r\nHost: a\r\nExpect: 200-ok\r\nContent-Length: 1\r\n\r\nx",
      false,
    );
    assert.match(reply, /^HTTP\/1\.1 417 /);
    assert.equal(backend.seen.length, seen);
  });

  it("an HTTP/1.0 client asking for keep-alive keeps its connection", async () => {
    const reply = await rawExchange(
      proxy.port,
      "GET /a HTTP/1.0\r\nConnection: keep-alive\r\n\r\nGET /b HTTP/1.0\r\n\r\n",
      false,
    );
    const [first, second] = reply.split(/(?=HTTP\/1\.1 )/);
    assert.match(first, /\r\nconnection: keep-alive\r\n/i);
    assert.match(first, /GET \/a$/);
    assert.match(second, /\r\nconnection: close\r\n[\s\S]*GET \/b$/i);
  });

  it("a request answered before its body arrived leaves the connection usable", async () => {
    const socket = connect(proxy.port, "127.0.0.1");
    let received = "";
    socket.on("data", (chunk: Buffer) => {
      received += chunk.toString("latin1");
    });
    try {
      socket.write("POST /fixed HTTP/1.1\r\nHost: a\r\nContent-Length: 10\r\n\r\nhello");
      assert.ok(await eventually(() => received.endsWith("fixed")), "the fixed answer");
      socket.write("world");
      socket.write("GET /next HTTP/1.1\r\nHost: a\r\n\r\n");
      assert.ok(await eventually(() => received.endsWith("GET /next")), received);
    } finally {
      socket.destroy();
    }
  });
});
