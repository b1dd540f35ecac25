/**
 * The http listener applies `limits` on real loopback sockets: a denied address is closed at
 * accept, a client over its rate gets 429 with Retry-After, connections over a limit are
 * closed at accept with a log line, and a reload changes all of it in place.
 */
import assert from "node:assert/strict";
import { connect } from "node:net";
import { after, before, describe, it } from "node:test";
import { connect as tlsConnect } from "node:tls";
import { httpListenerSchema, poolSchema } from "../../src/config/schema/index.js";
import { createHttpListener } from "../../src/http/listener.js";
import type { Listener } from "../../src/net/listener.js";
import type { Pool } from "../../src/pool/pool.js";
import { createPoolFromConfig } from "../../src/runtime/pools.js";
import { startBackend, type TestBackend } from "../http/helpers.js";
import { selfSignedCertificate } from "../support/certificates.js";
import {
  CLOSING_GET,
  capturingLogger,
  exchangeFrom,
  keepAliveFrom,
  OTHER_CLIENT,
} from "./helpers.js";

const LOCAL = "127.0.0.1";

describe("http listener limits", () => {
  let backend: TestBackend;
  let pool: Pool;
  const open: Listener[] = [];
  const log = capturingLogger();

  before(async () => {
    backend = await startBackend("b1");
    pool = createPoolFromConfig(
      "app",
      poolSchema.parse({ backends: [{ address: `127.0.0.1:${backend.port}` }] }),
    );
  });

  after(async () => {
    for (const listener of open) await listener.stop({ graceful: false });
    pool.close();
    await backend.close();
  });

  function configOf(limits: Record<string, unknown> | undefined, extra = {}) {
    return httpListenerSchema.parse({
      name: "guarded",
      protocol: "http",
      bind: "127.0.0.1:0",
      default_pool: "app",
      access_log: false,
      limits,
      ...extra,
    });
  }

  async function listen(limits: Record<string, unknown> | undefined, extra = {}) {
    const listener = createHttpListener(configOf(limits, extra), {
      pools: new Map([["app", pool]]),
      logger: log.logger,
    });
    await listener.start();
    open.push(listener);
    return { listener, port: listener.address().port };
  }

  it("closes a denied client's connection at accept and serves the others", async () => {
    const { listener, port } = await listen({ deny: [`${OTHER_CLIENT}/32`] });
    const denied = await exchangeFrom(port, OTHER_CLIENT, CLOSING_GET);
    assert.equal(denied, "", "no byte of a response reaches a denied client");
    const served = await exchangeFrom(port, LOCAL, CLOSING_GET);
    assert.match(served, /^HTTP\/1\.1 200 /);
    assert.match(served, /b1$/);
    assert.equal(listener.stats().deniedConnections, 1);
  });

  it("with TLS, closes a denied client before the handshake", async () => {
    const certificate = selfSignedCertificate();
    try {
      const { cert, key } = certificate;
      const { port } = await listen({ deny: [OTHER_CLIENT] }, { tls: { cert, key } });
      const handshake = (localAddress: string) =>
        new Promise<string>((resolve) => {
          // The tls options type lacks localAddress: bind a plain socket and wrap it.
          const raw = connect({ port, host: "127.0.0.1", localAddress });
          raw.on("error", () => {});
          const socket = tlsConnect({ socket: raw, rejectUnauthorized: false });
          socket.on("secureConnect", () => {
            socket.destroy();
            resolve("handshake");
          });
          socket.on("error", (error: NodeJS.ErrnoException) => resolve(error.code ?? "error"));
        });
      assert.notEqual(await handshake(OTHER_CLIENT), "handshake");
      assert.equal(await handshake(LOCAL), "handshake");
    } finally {
      certificate.cleanup();
    }
  });

  it("with an allow list, closes every other address", async () => {
    const { port } = await listen({ allow: ["127.0.0.1"] });
    assert.equal(await exchangeFrom(port, OTHER_CLIENT, CLOSING_GET), "");
    assert.match(await exchangeFrom(port, LOCAL, CLOSING_GET), /^HTTP\/1\.1 200 /);
  });

  it("answers 429 with Retry-After beyond rate and burst, per client address", async () => {
    // One token per 100 s: the test cannot be slow enough for a refill to hide a refusal.
    const { listener, port } = await listen({ rate_per_second: 0.01, burst: 2 });
    const client = await keepAliveFrom(port, LOCAL);
    try {
      for (let i = 0; i < 3; i++) assert.match(await client.get(), /^HTTP\/1\.1 200 /, `#${i}`);
      const refused = await client.get();
      assert.match(refused, /^HTTP\/1\.1 429 /);
      const retryAfter = Number(/retry-after: *(\d+)/i.exec(refused)?.[1]);
      assert.ok(retryAfter >= 99 && retryAfter <= 100, `Retry-After ${retryAfter}`);
      assert.match(refused, /x-request-id: /i);
      // A new connection does not reset the client's bucket.
      assert.match(await exchangeFrom(port, LOCAL, CLOSING_GET), /^HTTP\/1\.1 429 /);
      // Another address has its own bucket.
      assert.match(await exchangeFrom(port, OTHER_CLIENT, CLOSING_GET), /^HTTP\/1\.1 200 /);
      assert.equal(listener.stats().rateLimited, 2);
    } finally {
      client.close();
    }
  });

  it("refuses an upgrade over the rate with 429 and Retry-After on the raw socket", async () => {
    const { port } = await listen({ rate_per_second: 0.01, burst: 0 });
    assert.match(await exchangeFrom(port, LOCAL, CLOSING_GET), /^HTTP\/1\.1 200 /);
    const upgrade =
      "GET /ws HTTP/1.1\r\nHost: test\r\nConnection: upgrade\r\nUpgrade: websocket\r\n" +
      "Sec-WebSocket-Version: 13\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n\r\n";
    const refused = await exchangeFrom(port, LOCAL, upgrade);
    assert.match(refused, /^HTTP\/1\.1 429 /);
    assert.match(refused, /Retry-After: 100/);
  });

  it("closes a client's connection beyond connections_per_client, with a log line", async () => {
    const { listener, port } = await listen({ connections_per_client: 1 });
    const first = await keepAliveFrom(port, LOCAL);
    try {
      assert.match(await first.get(), /^HTTP\/1\.1 200 /);
      assert.equal(await exchangeFrom(port, LOCAL, CLOSING_GET), "");
      assert.match(await exchangeFrom(port, OTHER_CLIENT, CLOSING_GET), /^HTTP\/1\.1 200 /);
      assert.equal(listener.stats().limitedConnections, 1);
      const line = log.lines.find(
        (l) => l.reason === "connections_per_client" && l.listener === "guarded",
      );
      assert.ok(line, "a refusal is logged");
      assert.equal(line.client, LOCAL);
      assert.equal(line.msg, "connection refused at accept");
    } finally {
      first.close();
    }
    // Once the first connection is gone, the client may connect again.
    let reply = "";
    for (let i = 0; i < 100 && !reply.startsWith("HTTP/1.1 200"); i++) {
      if (i > 0) await new Promise((resolve) => setTimeout(resolve, 20));
      reply = await exchangeFrom(port, LOCAL, CLOSING_GET);
    }
    assert.match(reply, /^HTTP\/1\.1 200 /);
  });

  it("closes any connection beyond max_connections", async () => {
    const { listener, port } = await listen({ max_connections: 1 });
    const first = await keepAliveFrom(port, LOCAL);
    try {
      assert.match(await first.get(), /^HTTP\/1\.1 200 /);
      assert.equal(await exchangeFrom(port, OTHER_CLIENT, CLOSING_GET), "");
      assert.equal(listener.stats().limitedConnections, 1);
    } finally {
      first.close();
    }
  });

  it("follows a reload: a newly denied client gets 403 on its open connection, then is closed at accept", async () => {
    const { listener, port } = await listen(undefined);
    const client = await keepAliveFrom(port, LOCAL);
    try {
      assert.match(await client.get(), /^HTTP\/1\.1 200 /);
      listener.update(configOf({ deny: ["127.0.0.0/30"] }));
      assert.match(await client.get(), /^HTTP\/1\.1 403 /);
      assert.equal(await exchangeFrom(port, LOCAL, CLOSING_GET), "");
      listener.update(configOf({ connections_per_client: 1 }));
      // The open connection was counted before the limit existed, so a second is refused.
      assert.equal(await exchangeFrom(port, LOCAL, CLOSING_GET), "");
      listener.update(configOf(undefined));
      assert.match(await client.get(), /^HTTP\/1\.1 200 /);
      assert.match(await exchangeFrom(port, LOCAL, CLOSING_GET), /^HTTP\/1\.1 200 /);
      assert.equal(listener.stats().deniedRequests, 1);
    } finally {
      client.close();
    }
  });
});
