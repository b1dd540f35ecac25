/**
 * Requests a backend could frame or route differently from ballast are refused before they
 * reach it, and nothing a client pipelined behind a refused request is read.
 */
import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import {
  backendsOf,
  rawExchange,
  startBackend,
  startProxy,
  type TestBackend,
  type TestProxy,
} from "./helpers.js";

describe("http request smuggling", () => {
  let backend: TestBackend;
  let proxy: TestProxy;
  const bodies: string[] = [];

  before(async () => {
    backend = await startBackend("b", (req, res) => {
      let body = "";
      req.setEncoding("latin1");
      req.on("data", (chunk: string) => {
        body += chunk;
      });
      req.on("end", () => {
        bodies.push(body);
        res.end(`${req.method} ${req.url} body=${body.length}`);
      });
    });
    proxy = await startProxy({ default_pool: "p" }, { p: { backends: backendsOf([backend]) } });
  });

  after(async () => {
    await proxy.close();
    await backend.close();
  });

  const smuggled = "GET /smuggled HTTP/1.1\r\nHost: x\r\n\r\n";

  it("Connection: content-length cannot strip the framing: one POST with its body", async () => {
    const before = backend.seen.length;
    const reply = await rawExchange(
      proxy.port,
      `POST /a HTTP/1.1\r\nHost: x\r\nConnection: close, content-length\r\nContent-Length: ${smuggled.length}\r\n\r\n${smuggled}`,
      false,
    );
    assert.match(reply, /^HTTP\/1\.1 200 /);
    assert.match(reply, new RegExp(`POST /a body=${smuggled.length}`));
    assert.deepEqual(
      backend.seen.slice(before).map((req) => req.url),
      ["/a"],
    );
    assert.equal(bodies.at(-1), smuggled);
  });

  it("Connection: transfer-encoding cannot strip the framing either", async () => {
    const before = backend.seen.length;
    const chunk = smuggled.length.toString(16);
    const reply = await rawExchange(
      proxy.port,
      `POST /b HTTP/1.1\r\nHost: x\r\nConnection: close, transfer-encoding\r\nTransfer-Encoding: chunked\r\n\r\n${chunk}\r\n${smuggled}\r\n0\r\n\r\n`,
      false,
    );
    assert.match(reply, /POST \/b body=/);
    assert.deepEqual(
      backend.seen.slice(before).map((req) => req.url),
      ["/b"],
    );
  });

  const refused: [string, string, number][] = [
    [
      "Content_Length look-alike",
      `POST / HTTP/1.1\r\nHost: x\r\nContent_Length: ${smuggled.length}\r\n\r\n${smuggled}`,
      400,
    ],
    [
      "Transfer_Encoding look-alike",
      `POST / HTTP/1.1\r\nHost: x\r\nTransfer_Encoding: chunked\r\nContent-Length: 5\r\n\r\nhello`,
      400,
    ],
    [
      "Transfer---Encoding look-alike",
      `POST / HTTP/1.1\r\nHost: x\r\nTransfer---Encoding: chunked\r\nContent-Length: 5\r\n\r\nhello`,
      400,
    ],
    [
      "HTTP/1.0 with Transfer-Encoding and keep-alive",
      `POST / HTTP/1.0\r\nHost: x\r\nConnection: keep-alive\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhello\r\n0\r\n\r\n${smuggled}`,
      400,
    ],
    [
      "GET with a Content-Length body",
      `GET / HTTP/1.1\r\nHost: x\r\nContent-Length: ${smuggled.length}\r\n\r\n${smuggled}`,
      400,
    ],
    [
      "HEAD with a chunked body",
      `HEAD / HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhello\r\n0\r\n\r\n${smuggled}`,
      400,
    ],
    [
      "Transfer-Encoding gzip, chunked (a coding that would be lost)",
      "POST / HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: gzip, chunked\r\n\r\n5\r\nhello\r\n0\r\n\r\n",
      501,
    ],
    ["Host with a space", "GET / HTTP/1.1\r\nHost: a b\r\n\r\n", 400],
    ["Host with a slash", "GET / HTTP/1.1\r\nHost: a/b\r\n\r\n", 400],
    ["Host with user info", "GET / HTTP/1.1\r\nHost: u@a\r\n\r\n", 400],
    [
      "CONNECT (not a forward proxy)",
      "CONNECT example.com:443 HTTP/1.1\r\nHost: example.com:443\r\n\r\n",
      405,
    ],
    ["HTTP/2.0 in the request line", "GET / HTTP/2.0\r\nHost: x\r\n\r\n", 505],
    ["HTTP/0.9 with header fields", "GET / HTTP/0.9\r\nHost: x\r\n\r\n", 400],
    ["an absolute-form target of another scheme", "GET ftp://x/ HTTP/1.1\r\nHost: x\r\n\r\n", 400],
    ["an absolute-form target with user info", "GET http://u@x/ HTTP/1.1\r\nHost: x\r\n\r\n", 400],
  ];
  for (const [label, bytes, status] of refused) {
    it(`${label} → ${status} and close; nothing reaches the backend`, async () => {
      const before = backend.seen.length;
      const reply = await rawExchange(proxy.port, bytes, false);
      assert.match(reply, new RegExp(`^HTTP/1\\.1 ${status} `));
      assert.match(reply, /\r\nconnection: close\r\n/i);
      assert.equal(reply.match(/HTTP\/1\.1 /g)?.length, 1, "one response, then the close");
      assert.equal(backend.seen.length, before);
    });
  }

  it("a request pipelined behind a refused one in the same packet is never read", async () => {
    const before = backend.seen.length;
    const reply = await rawExchange(
      proxy.port,
      `GET / HTTP/1.1\r\nHost: a b\r\n\r\nGET /after HTTP/1.1\r\nHost: x\r\n\r\n`,
      false,
    );
    assert.match(reply, /^HTTP\/1\.1 400 /);
    assert.equal(reply.match(/HTTP\/1\.1 /g)?.length, 1);
    assert.equal(backend.seen.length, before);
  });

  it("header fields with underscores are dropped (nginx underscores_in_headers off)", async () => {
    const before = backend.seen.length;
    const reply = await rawExchange(
      proxy.port,
      "GET /u HTTP/1.1\r\nHost: x\r\nConnection: close\r\nX_Forwarded_For: 6.6.6.6\r\nX-Ok: 1\r\n\r\n",
      false,
    );
    assert.match(reply, /^HTTP\/1\.1 200 /);
    const seen = backend.seen[before];
    assert.equal(seen.headers["x-ok"], "1");
    // rawHeaders alternates names and values; a value (the random request id) may hold "_".
    const names = seen.rawHeaders.filter((_, i) => i % 2 === 0);
    assert.ok(!names.some((name) => name.includes("_")), names.join(","));
    assert.equal(seen.headers["x-forwarded-for"], "127.0.0.1");
  });

  it("HTTP/1.0 without Host reaches the backend with a Host it can accept", async () => {
    const before = backend.seen.length;
    const reply = await rawExchange(proxy.port, "GET /old HTTP/1.0\r\n\r\n", false);
    assert.match(reply, /^HTTP\/1\.1 200 /);
    assert.equal(backend.seen[before].headers.host, `127.0.0.1:${proxy.port}`);
  });

  it("more header fields than max_header_count → 431, never forwarded without some", async () => {
    const before = backend.seen.length;
    const filler = Array.from({ length: 2001 }, (_, i) => `X-F${i}: v\r\n`).join("");
    const reply = await rawExchange(
      proxy.port,
      `POST /many HTTP/1.1\r\nHost: x\r\n${filler}Content-Length: ${smuggled.length}\r\n\r\n${smuggled}`,
      false,
    );
    assert.match(reply, /^HTTP\/1\.1 431 /);
    assert.equal(backend.seen.length, before);
  });

  it("a head with fields up to max_header_count passes whole", async () => {
    const small = await startProxy(
      { default_pool: "p", max_header_count: 30, max_header_size: 65_536 },
      { p: { backends: backendsOf([backend]) } },
    );
    try {
      const before = backend.seen.length;
      const fields = (n: number) => Array.from({ length: n }, (_, i) => `X-F${i}: v\r\n`).join("");
      const ok = await rawExchange(
        small.port,
        `GET /ok HTTP/1.1\r\nHost: x\r\nConnection: close\r\n${fields(28)}\r\n`,
        false,
      );
      assert.match(ok, /^HTTP\/1\.1 200 /);
      assert.equal(backend.seen[before].headers["x-f27"], "v");
      const over = await rawExchange(
        small.port,
        `GET /no HTTP/1.1\r\nHost: x\r\n${fields(30)}\r\n`,
        false,
      );
      assert.match(over, /^HTTP\/1\.1 431 /);
      assert.equal(backend.seen.length, before + 1);
    } finally {
      await small.close();
    }
  });
});
