/** RFC 9110 forwarding: hop-by-hop fields stop at the proxy; X-Forwarded-* and X-Real-IP. */
import assert from "node:assert/strict";
import type { IncomingMessage } from "node:http";
import { after, before, describe, it } from "node:test";
import {
  backendsOf,
  fetchText,
  rawExchange,
  startBackend,
  startProxy,
  type TestBackend,
  type TestProxy,
} from "./helpers.js";

describe("http forwarding headers", () => {
  let backend: TestBackend;
  let untrusting: TestProxy;
  let trusting: TestProxy;
  const last = (): IncomingMessage => backend.seen[backend.seen.length - 1];

  before(async () => {
    backend = await startBackend("b", (req, res) => {
      req.resume();
      res.writeHead(200, {
        connection: "x-hop-response",
        "x-hop-response": "secret",
        "keep-alive": "timeout=5",
        "x-end-to-end": "kept",
      });
      res.end("ok");
    });
    const pools = { p: { backends: backendsOf([backend]) } };
    untrusting = await startProxy(
      { default_pool: "p", forwarded: { trusted_proxies: ["10.0.0.0/8"] } },
      pools,
    );
    trusting = await startProxy(
      { default_pool: "p", forwarded: { trusted_proxies: ["127.0.0.0/8", "::1"] } },
      pools,
    );
  });

  after(async () => {
    await untrusting.close();
    await trusting.close();
    await backend.close();
  });

  it("removes hop-by-hop request fields, including those named in Connection", async () => {
    const reply = await rawExchange(
      untrusting.port,
      "GET /x HTTP/1.1\r\nHost: shop.example\r\nConnection: close, X-Hop\r\nX-Hop: 1\r\n" +
        "Keep-Alive: timeout=5\r\nTE: trailers\r\nProxy-Connection: keep-alive\r\n" +
        "X-End-To-End: yes\r\n\r\n",
      false,
    );
    assert.match(reply, /^HTTP\/1\.1 200 /);
    const seen = last().headers;
    assert.equal(seen["x-hop"], undefined);
    assert.equal(seen["keep-alive"], undefined);
    assert.equal(seen.te, undefined);
    assert.equal(seen["proxy-connection"], undefined);
    assert.notEqual(seen.connection, "close, X-Hop");
    assert.equal(seen["x-end-to-end"], "yes");
    assert.equal(seen.host, "shop.example");
  });

  it("keeps Host even when the client names it in Connection", async () => {
    const reply = await rawExchange(
      untrusting.port,
      "GET /x HTTP/1.1\r\nHost: shop.example\r\nConnection: close, Host, X-Hop\r\nX-Hop: 1\r\n\r\n",
      false,
    );
    assert.match(reply, /^HTTP\/1\.1 200 /);
    const seen = last().headers;
    assert.equal(seen.host, "shop.example");
    assert.equal(seen["x-hop"], undefined);
  });

  it("removes hop-by-hop response fields, including those named in Connection", async () => {
    const reply = await fetchText(untrusting.port, "/");
    assert.equal(reply.status, 200);
    assert.equal(reply.headers["x-hop-response"], undefined);
    assert.equal(reply.headers["keep-alive"], undefined);
    assert.equal(reply.headers["x-end-to-end"], "kept");
  });

  it("replaces a forged chain from an untrusted client", async () => {
    await fetchText(untrusting.port, "/", {
      headers: {
        host: "shop.example",
        "x-forwarded-for": "6.6.6.6",
        "x-real-ip": "6.6.6.6",
        "x-forwarded-proto": "https",
        "x-forwarded-host": "evil.example",
        "x-request-id": "forged",
      },
    });
    const seen = last().headers;
    assert.equal(seen["x-forwarded-for"], "127.0.0.1");
    assert.equal(seen["x-real-ip"], "127.0.0.1");
    assert.equal(seen["x-forwarded-proto"], "http");
    assert.equal(seen["x-forwarded-host"], "shop.example");
    assert.notEqual(seen["x-request-id"], "forged");
    assert.match(String(seen["x-request-id"]), /.+-.+/);
  });

  it("extends the chain of a trusted proxy", async () => {
    await fetchText(trusting.port, "/", {
      headers: {
        host: "shop.example",
        "x-forwarded-for": "203.0.113.7, 198.51.100.2",
        "x-real-ip": "203.0.113.7",
        "x-forwarded-proto": "https",
        "x-forwarded-host": "www.shop.example",
        "x-request-id": "from-the-edge",
      },
    });
    const seen = last().headers;
    assert.equal(seen["x-forwarded-for"], "203.0.113.7, 198.51.100.2, 127.0.0.1");
    assert.equal(seen["x-real-ip"], "203.0.113.7");
    assert.equal(seen["x-forwarded-proto"], "https");
    assert.equal(seen["x-forwarded-host"], "www.shop.example");
    assert.equal(seen["x-request-id"], "from-the-edge");
  });

  it("sets a request id upstream for every request, and a fresh one each time", async () => {
    await fetchText(untrusting.port, "/");
    const first = last().headers["x-request-id"];
    await fetchText(untrusting.port, "/");
    assert.notEqual(last().headers["x-request-id"], first);
  });
});
