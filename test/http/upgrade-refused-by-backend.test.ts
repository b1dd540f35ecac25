/**
 * An upgrade is tunnelled only after the backend's 101: a backend that ignores Upgrade and
 * answers 200 keeps the client connection HTTP, so what follows on it is routed and
 * checked like any request (here: answered 403 by a fixed route), never sent raw upstream.
 */
import assert from "node:assert/strict";
import { once } from "node:events";
import { connect, type Socket } from "node:net";
import { after, before, describe, it } from "node:test";
import { connect as connectTls } from "node:tls";
import { selfSignedCertificate } from "../support/certificates.js";
import { eventually } from "../support/wait.js";
import {
  backendsOf,
  startBackend,
  startProxy,
  type TestBackend,
  type TestProxy,
} from "./helpers.js";

/** A client connection that collects everything it receives. */
async function open(port: number): Promise<{ socket: Socket; received: () => string }> {
  const socket = connect(port, "127.0.0.1");
  await once(socket, "connect");
  let text = "";
  socket.on("data", (chunk: Buffer) => {
    text += chunk.toString("latin1");
  });
  socket.on("error", () => {});
  return { socket, received: () => text };
}

const upgrade = (path: string) =>
  `GET ${path} HTTP/1.1\r\nHost: x\r\nConnection: Upgrade\r\nUpgrade: websocket\r\n` +
  "Sec-WebSocket-Version: 13\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n\r\n";
const secret = "GET /admin/secret HTTP/1.1\r\nHost: x\r\nX-Forwarded-For: 6.6.6.6\r\n\r\n";

describe("http upgrade refused by the backend", () => {
  let backend: TestBackend;
  let proxy: TestProxy;

  before(async () => {
    // A plain keep-alive backend: node answers an Upgrade request like any other.
    backend = await startBackend("plain", (req, res) => {
      req.resume();
      res.end(`plain ${req.url}`);
    });
    proxy = await startProxy(
      {
        default_pool: "p",
        routes: [{ match: { path_prefix: "/admin" }, respond: { status: 403 } }],
      },
      { p: { backends: backendsOf([backend]) } },
    );
  });

  after(async () => {
    await proxy.close();
    await backend.close();
  });

  it("the next request on the connection is routed (403), not tunnelled to the backend", async () => {
    const client = await open(proxy.port);
    client.socket.write(upgrade("/public"));
    assert.ok(await eventually(() => client.received().includes("plain /public")));
    assert.match(client.received(), /^HTTP\/1\.1 200 /);
    client.socket.write(secret);
    assert.ok(await eventually(() => / 403 /.test(client.received())), client.received());
    client.socket.destroy();
    assert.deepEqual(
      backend.seen.map((req) => req.url),
      ["/public"],
    );
  });

  it("the backend's answer reaches the client with one framing: chunked, no Content-Length beside it", async () => {
    const client = await open(proxy.port);
    client.socket.write(upgrade("/framed"));
    assert.ok(await eventually(() => client.received().includes("\r\n0\r\n\r\n")));
    client.socket.destroy();
    const head = client.received().slice(0, client.received().indexOf("\r\n\r\n"));
    assert.match(head, /\r\ntransfer-encoding: chunked/i);
    assert.doesNotMatch(
      head,
      /\r\ncontent-length:/i,
      "a client would read the chunk framing as the body",
    );
  });

  it("the same when both requests arrive in one packet", async () => {
    const before = backend.seen.length;
    const client = await open(proxy.port);
    client.socket.write(upgrade("/public2") + secret);
    assert.ok(await eventually(() => / 403 /.test(client.received())), client.received());
    assert.match(client.received(), /^HTTP\/1\.1 200 [\s\S]*plain \/public2[\s\S]*HTTP\/1\.1 403 /);
    client.socket.destroy();
    assert.deepEqual(
      backend.seen.slice(before).map((req) => req.url),
      ["/public2"],
    );
    assert.equal(backend.seen.at(-1)?.headers["x-forwarded-for"], "127.0.0.1");
  });

  it("a good request after a refused upgrade is proxied with the proxy's own headers", async () => {
    const before = backend.seen.length;
    const client = await open(proxy.port);
    client.socket.write(
      `${upgrade("/one")}GET /two HTTP/1.1\r\nHost: x\r\nX-Forwarded-For: 6.6.6.6\r\n\r\n`,
    );
    assert.ok(await eventually(() => client.received().includes("plain /two")));
    client.socket.destroy();
    const second = backend.seen[before + 1];
    assert.equal(second.url, "/two");
    assert.equal(second.headers["x-forwarded-for"], "127.0.0.1", "the forged address is replaced");
    const state = proxy.pools.get("p")!.backends[0];
    assert.ok(await eventually(() => state.active + state.inactive === 0), "leases released");
    assert.ok(await eventually(() => proxy.listener.stats().tunnels === 0));
  });

  it("an upgrade request with a body is refused (400)", async () => {
    const before = backend.seen.length;
    const client = await open(proxy.port);
    client.socket.write(
      "POST /up HTTP/1.1\r\nHost: x\r\nConnection: Upgrade\r\nUpgrade: h2c\r\nContent-Length: 5\r\n\r\nhello",
    );
    assert.ok(await eventually(() => / 400 /.test(client.received())));
    client.socket.destroy();
    assert.equal(backend.seen.length, before);
  });

  it("over TLS too: the connection goes back to HTTPS and the next request is routed", async () => {
    const certificate = selfSignedCertificate();
    const { cert, key } = certificate;
    const tls = await startProxy(
      {
        default_pool: "p",
        tls: { cert, key },
        routes: [{ match: { path_prefix: "/admin" }, respond: { status: 403 } }],
      },
      { p: { backends: backendsOf([backend]) } },
    );
    try {
      const before = backend.seen.length;
      const socket = connectTls({ port: tls.port, host: "127.0.0.1", rejectUnauthorized: false });
      await once(socket, "secureConnect");
      let text = "";
      socket.on("data", (chunk: Buffer) => {
        text += chunk.toString("latin1");
      });
      socket.write(upgrade("/tls") + secret);
      assert.ok(await eventually(() => / 403 /.test(text)), text);
      assert.match(text, /plain \/tls/);
      socket.destroy();
      assert.deepEqual(
        backend.seen.slice(before).map((req) => req.url),
        ["/tls"],
      );
    } finally {
      await tls.close();
      certificate.cleanup();
    }
  });
});
