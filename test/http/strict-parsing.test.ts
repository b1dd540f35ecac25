/** Malformed request heads get 400/431 from the proxy and never reach a backend. */
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

describe("http strict parsing", () => {
  let backend: TestBackend;
  let proxy: TestProxy;

  before(async () => {
    backend = await startBackend("b");
    proxy = await startProxy(
      { default_pool: "p", max_header_size: 2048 },
      { p: { backends: backendsOf([backend]) } },
    );
  });

  after(async () => {
    await proxy.close();
    await backend.close();
  });

  const bad: [string, string, number][] = [
    [
      "Content-Length with Transfer-Encoding",
      "POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 5\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n",
      400,
    ],
    [
      "two different Content-Length values",
      "POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 5\r\nContent-Length: 6\r\n\r\nhello!",
      400,
    ],
    [
      "a repeated Content-Length",
      "POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 5\r\nContent-Length: 5\r\n\r\nhello",
      400,
    ],
    ["Content-Length list", "POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 5, 5\r\n\r\nhello", 400],
    [
      "Transfer-Encoding not ending in chunked",
      "POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: gzip\r\n\r\nhello",
      400,
    ],
    ["two Host fields", "GET / HTTP/1.1\r\nHost: a\r\nHost: b\r\n\r\n", 400],
    ["no Host in HTTP/1.1", "GET / HTTP/1.1\r\n\r\n", 400],
    ["space before colon", "GET / HTTP/1.1\r\nHost : a\r\n\r\n", 400],
    ["bad request line", "GET /\x01 HTTP/1.1\r\nHost: a\r\n\r\n", 400],
    ["head too large", `GET / HTTP/1.1\r\nHost: a\r\nX-Big: ${"x".repeat(4096)}\r\n\r\n`, 431],
  ];
  for (const [label, bytes, status] of bad) {
    it(`${label} → ${status}, backend sees nothing`, async () => {
      const before = backend.seen.length;
      const reply = await rawExchange(proxy.port, bytes);
      assert.match(reply, new RegExp(`^HTTP/1\\.1 ${status} `));
      assert.equal(backend.seen.length, before);
    });
  }

  it("a well-formed request on the same listener passes", async () => {
    const reply = await rawExchange(
      proxy.port,
      "POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 5\r\nConnection: close\r\n\r\nhello",
      false,
    );
    assert.match(reply, /^HTTP\/1\.1 200 /);
    assert.match(reply, /\r\n\r\nb$/);
  });
});
