/** The tcp listener's forwarding behaviour, against small loopback servers. */
import assert from "node:assert/strict";
import { once } from "node:events";
import { connect } from "node:net";
import { after, describe, it } from "node:test";
import { decodeProxyHeader, encodeProxyV1, encodeProxyV2 } from "../../src/net/proxy-protocol.js";
import { blackholePort as blackhole } from "../support/blackhole-port.js";
import { runCleanups } from "../support/cleanups.js";
import { waitFor } from "../support/wait.js";
import { dial, frontTcp, namedEchoServer, readUntil, tcpServer, whoAnswers } from "./helpers.js";

const cleanups: (() => Promise<void> | void)[] = [];
after(async () => {
  await runCleanups(cleanups);
});

/** A port whose connects hang, released when the file's tests end. */
async function blackholePort(): Promise<number> {
  const hole = await blackhole();
  cleanups.push(() => hole.close());
  return hole.port;
}

/** Connects and returns the error code the connection ends with (at connect or after). */
async function errorCode(port: number): Promise<string | undefined> {
  const socket = connect(port, "127.0.0.1");
  const [error] = await once(socket, "error");
  return (error as NodeJS.ErrnoException).code;
}

/** A port with nothing listening: connects are refused at once. */
async function closedPort(): Promise<number> {
  const server = await tcpServer(() => {});
  await server.close();
  return server.port;
}

describe("tcp listener", () => {
  it("spreads connections over the pool and counts them active while open", async () => {
    const a = await namedEchoServer("a");
    const b = await namedEchoServer("b");
    const front = await frontTcp([
      { id: "a", host: "127.0.0.1", port: a.port },
      { id: "b", host: "127.0.0.1", port: b.port },
    ]);
    cleanups.push(a.close, b.close, front.close);
    const names = [];
    for (let i = 0; i < 6; i++) names.push(await whoAnswers(front.port));
    assert.deepEqual(names, ["a", "b", "a", "b", "a", "b"]);

    const held = await dial(front.port);
    await readUntil(held, (t) => t.includes("\n"));
    const backend = front.pool.get("a")!;
    assert.equal(backend.active + front.pool.get("b")!.active, 1, "one open connection, active");
    const rows = front.listener.connections();
    assert.equal(rows.length, 1);
    assert.equal(rows[0].state, "established");
    assert.match(rows[0].client, /^127\.0\.0\.1:\d+$/);
    held.write("hello");
    await readUntil(held, (t) => t.includes("hello"));
    const row = front.listener.connections()[0];
    assert.equal(row.bytesIn, 5);
    assert.equal(row.bytesOut, 2 + 5);
    held.destroy();
    await waitFor("the connection table to empty", () => front.listener.connections().length === 0);
    await waitFor(
      "the backend to count no connection",
      () => backend.active + backend.inactive === 0,
    );
    assert.equal(front.pool.get("b")!.active + front.pool.get("b")!.inactive, 0);
  });

  it("passes a half-close on: the client's FIN reaches the backend, whose reply still arrives", async () => {
    let backendSawEnd = false;
    const server = await tcpServer(
      (socket) => {
        let received = "";
        socket.on("data", (chunk) => {
          received += chunk;
        });
        socket.on("end", () => {
          backendSawEnd = true;
          // Answer after the client has finished sending, then close our side.
          setTimeout(() => socket.end(`got ${received.length} bytes`), 50);
        });
      },
      { allowHalfOpen: true },
    );
    const front = await frontTcp([{ host: "127.0.0.1", port: server.port }]);
    cleanups.push(server.close, front.close);
    const client = await dial(front.port, { allowHalfOpen: true });
    client.end("x".repeat(100_000));
    const reply = await readUntil(client, () => false);
    assert.equal(backendSawEnd, true);
    assert.equal(reply, "got 100000 bytes");
    await waitFor("the connection table to empty", () => front.listener.connections().length === 0);
  });

  it("closes both sides when one side resets", async () => {
    const server = await tcpServer(() => {});
    const front = await frontTcp([{ host: "127.0.0.1", port: server.port }]);
    cleanups.push(server.close, front.close);
    const client = await dial(front.port);
    await waitFor("one connection at the server", () => server.sockets.size === 1);
    const [backendSide] = server.sockets;
    client.resetAndDestroy();
    await once(backendSide, "close");
    await waitFor("the connection table to empty", () => front.listener.connections().length === 0);
  });

  it("fails over to another backend when a connect is refused", async () => {
    const good = await namedEchoServer("good");
    const front = await frontTcp([
      { id: "dead", host: "127.0.0.1", port: await closedPort() },
      { id: "good", host: "127.0.0.1", port: good.port },
    ]);
    cleanups.push(good.close, front.close);
    for (let i = 0; i < 4; i++) assert.equal(await whoAnswers(front.port), "good");
    assert.ok(front.listener.stats().connectFailures >= 1);
    assert.ok(front.pool.get("dead")!.counters.failures >= 1);
  });

  it("fails over when a connect times out", async () => {
    const good = await namedEchoServer("good");
    const front = await frontTcp(
      [
        { id: "slow", host: "127.0.0.1", port: await blackholePort() },
        { id: "good", host: "127.0.0.1", port: good.port },
      ],
      { timeouts: { connect: "200ms", idle: "10s" } },
    );
    cleanups.push(good.close, front.close);
    assert.equal(await whoAnswers(front.port), "good", "first pick is the silent backend");
    assert.equal(front.listener.stats().connectFailures, 1);
    const slow = front.pool.get("slow")!;
    assert.equal(slow.counters.failures, 1);
    assert.equal(slow.active + slow.inactive, 0, "the failed attempt no longer counts");
  });

  it("counts a connection as inactive while its backend has not answered the connect", async () => {
    const front = await frontTcp([{ id: "slow", host: "127.0.0.1", port: await blackholePort() }], {
      timeouts: { connect: "5s", idle: "10s" },
      retries: 0,
    });
    cleanups.push(front.close);
    const client = await dial(front.port);
    const slow = front.pool.get("slow")!;
    await waitFor("an inactive connection on the slow backend", () => slow.inactive === 1);
    assert.equal(slow.active, 0);
    assert.equal(front.listener.connections()[0].state, "connecting");
    // A reset (not a FIN: a half-closed client may still want its answer) abandons the attempt.
    client.resetAndDestroy();
    await waitFor("no inactive connection on the slow backend", () => slow.inactive === 0);
  });

  it("resets the client at once when the pool has no available backend", async () => {
    const front = await frontTcp([]);
    cleanups.push(front.close);
    assert.equal(await errorCode(front.port), "ECONNRESET");
    assert.equal(front.listener.stats().noBackend, 1);
  });

  it("skips a backend at its connection limit (IPVS overload) and resets when all are full", async () => {
    const a = await namedEchoServer("a");
    const b = await namedEchoServer("b");
    const front = await frontTcp([
      { id: "a", host: "127.0.0.1", port: a.port, maxConnections: 1 },
      { id: "b", host: "127.0.0.1", port: b.port, maxConnections: 1 },
    ]);
    cleanups.push(a.close, b.close, front.close);
    const first = await dial(front.port);
    const second = await dial(front.port);
    const names = [
      (await readUntil(first, (t) => t.includes("\n"))).trim(),
      (await readUntil(second, (t) => t.includes("\n"))).trim(),
    ].sort();
    assert.deepEqual(names, ["a", "b"]);
    assert.equal(await errorCode(front.port), "ECONNRESET");
    first.destroy();
    second.destroy();
  });

  it("closes a connection idle for the idle timeout", async () => {
    const server = await tcpServer(() => {});
    const front = await frontTcp([{ host: "127.0.0.1", port: server.port }], {
      timeouts: { connect: "1s", idle: "150ms" },
    });
    cleanups.push(server.close, front.close);
    const client = await dial(front.port);
    client.on("error", () => {});
    await once(client, "close");
    await waitFor("no connection at the server", () => server.sockets.size === 0);
  });

  it("stops gracefully: no new connections, open ones finish, the rest close at the timeout", async () => {
    const a = await namedEchoServer("a");
    const front = await frontTcp([{ host: "127.0.0.1", port: a.port }]);
    cleanups.push(a.close, front.close);
    const open = await dial(front.port);
    await readUntil(open, (t) => t.includes("\n"));
    const stopped = front.listener.stop({ graceful: true, timeoutMs: 5000 });
    await assert.rejects(dial(front.port));
    open.write("still here");
    assert.match(await readUntil(open, (t) => t.includes("still here")), /still here/);
    open.end();
    await stopped;

    const b = await namedEchoServer("b");
    const second = await frontTcp([{ host: "127.0.0.1", port: b.port }]);
    cleanups.push(b.close, second.close);
    const lingering = await dial(second.port);
    await readUntil(lingering, (t) => t.includes("\n"));
    await second.listener.stop({ graceful: true, timeoutMs: 100 });
    await waitFor(
      "the lingering client to be closed",
      () => lingering.destroyed || lingering.readableEnded,
    );
  });

  it("keeps a client on its backend with persistence, until the timeout after its last connection", async () => {
    const a = await namedEchoServer("a");
    const b = await namedEchoServer("b");
    const front = await frontTcp(
      [
        { id: "a", host: "127.0.0.1", port: a.port },
        { id: "b", host: "127.0.0.1", port: b.port },
      ],
      {},
      { persistenceMs: 300 },
    );
    cleanups.push(a.close, b.close, front.close);
    const first = await whoAnswers(front.port);
    for (let i = 0; i < 5; i++) assert.equal(await whoAnswers(front.port), first);
    const rows = front.listener.persistence();
    assert.equal(rows.length, 1);
    assert.equal(rows[0].client, "127.0.0.1");
    assert.equal(rows[0].backend, first);
    // Round robin moves on once the binding has expired.
    await new Promise((resolve) => setTimeout(resolve, 400));
    assert.notEqual(await whoAnswers(front.port), first);
  });

  it("sends a PROXY v1 or v2 header with the client's address before the client's bytes", async () => {
    for (const version of [1, 2] as const) {
      let received = Buffer.alloc(0);
      const server = await tcpServer((socket) => {
        socket.on("data", (chunk) => {
          received = Buffer.concat([received, chunk]);
        });
      });
      const front = await frontTcp([{ host: "127.0.0.1", port: server.port }], {
        proxy_protocol: { send: version },
      });
      cleanups.push(server.close, front.close);
      const client = await dial(front.port);
      client.write("PING\r\n");
      await waitFor("PING at the backend", () => received.includes("PING\r\n"));
      const result = decodeProxyHeader(received);
      assert.equal(result.status, "ok");
      if (result.status !== "ok") return;
      assert.equal(result.header.version, version);
      assert.equal(result.header.addresses?.sourceAddress, "127.0.0.1");
      assert.equal(result.header.addresses?.sourcePort, client.localPort);
      assert.equal(result.header.addresses?.destinationPort, front.port);
      assert.equal(received.subarray(result.length).toString(), "PING\r\n");
      client.destroy();
    }
  });

  it("takes the client address from a trusted front balancer's PROXY header, and closes one without", async () => {
    const a = await namedEchoServer("a");
    const front = await frontTcp(
      [{ host: "127.0.0.1", port: a.port }],
      { proxy_protocol: { accept_from: ["127.0.0.0/8"] } },
      { persistenceMs: 10_000 },
    );
    cleanups.push(a.close, front.close);
    const addresses = {
      family: "tcp6" as const,
      sourceAddress: "2001:db8::7",
      sourcePort: 5555,
      destinationAddress: "2001:db8::1",
      destinationPort: 6379,
    };
    for (const header of [encodeProxyV2(addresses), encodeProxyV1(addresses)]) {
      const client = await dial(front.port);
      // The header and the first payload bytes in one segment: the payload must survive.
      client.write(Buffer.concat([header, Buffer.from("after-header")]));
      const echoed = await readUntil(client, (t) => t.includes("after-header"));
      assert.equal(echoed, "a\nafter-header");
      const row = front.listener.connections()[0];
      assert.equal(row.client, "[2001:db8::7]:5555");
      client.destroy();
      await waitFor(
        "the connection table to empty",
        () => front.listener.connections().length === 0,
      );
    }
    assert.equal(front.listener.persistence()[0].client, "2001:db8::7");

    const plain = await dial(front.port);
    plain.write("PING\r\n");
    const closedWith = await readUntil(plain, () => false);
    assert.equal(closedWith, "", "no byte reaches the backend without a header");
    assert.equal(front.listener.stats().proxyHeaderRejected, 1);
  });
});
