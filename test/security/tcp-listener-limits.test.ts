/**
 * The tcp listener applies `limits` at accept on real loopback sockets: denied addresses,
 * a connection rate, connections per client and in total, each closed before a backend is
 * picked and logged; a reload that denies a client also closes its open connections.
 */
import assert from "node:assert/strict";
import { connect, type Socket } from "node:net";
import { after, before, describe, it } from "node:test";
import { tcpListenerSchema } from "../../src/config/schema/index.js";
import { Pool } from "../../src/pool/pool.js";
import { createTcpListener, type TcpListener } from "../../src/tcp/listener.js";
import { namedEchoServer } from "../l4/helpers.js";
import { waitFor } from "../support/wait.js";
import { capturingLogger, OTHER_CLIENT } from "./helpers.js";

const LOCAL = "127.0.0.1";

/** A connection from `localAddress`: its first bytes ("" when closed first) and the socket. */
function connectFrom(
  port: number,
  localAddress: string,
): Promise<{ first: string; socket: Socket }> {
  return new Promise((resolve) => {
    const socket = connect({ port, host: "127.0.0.1", localAddress });
    const timer = setTimeout(() => socket.destroy(), 3000);
    const settle = (first: string) => {
      clearTimeout(timer);
      socket.off("data", onData);
      socket.off("close", onClose);
      resolve({ first, socket });
    };
    const onData = (chunk: Buffer) => settle(chunk.toString());
    const onClose = () => settle("");
    socket.on("error", () => {});
    socket.on("data", onData);
    socket.on("close", onClose);
  });
}

describe("tcp listener limits", () => {
  let backend: Awaited<ReturnType<typeof namedEchoServer>>;
  let pool: Pool;
  const listeners: TcpListener[] = [];
  const sockets: Socket[] = [];
  const log = capturingLogger();

  before(async () => {
    backend = await namedEchoServer("a");
    pool = new Pool("p", [{ id: "a", host: "127.0.0.1", port: backend.port }], {
      algorithm: "rr",
    });
  });

  after(async () => {
    for (const socket of sockets) socket.destroy();
    for (const listener of listeners) await listener.stop({ graceful: false });
    pool.close();
    await backend.close();
  });

  function configOf(limits: Record<string, unknown> | undefined) {
    return tcpListenerSchema.parse({
      name: "guarded-tcp",
      protocol: "tcp",
      bind: "127.0.0.1:0",
      pool: "p",
      limits,
    });
  }

  async function listen(limits: Record<string, unknown> | undefined) {
    const listener = createTcpListener(configOf(limits), {
      pools: new Map([["p", pool]]),
      logger: log.logger,
    }) as TcpListener;
    await listener.start();
    listeners.push(listener);
    return { listener, port: listener.address().port };
  }

  async function open(port: number, from: string): Promise<string> {
    const { first, socket } = await connectFrom(port, from);
    sockets.push(socket);
    return first;
  }

  it("closes a denied address at accept and forwards the others", async () => {
    const { listener, port } = await listen({ deny: [OTHER_CLIENT] });
    assert.equal(await open(port, OTHER_CLIENT), "");
    assert.equal(await open(port, LOCAL), "a\n");
    assert.equal(listener.stats().deniedConnections, 1);
    assert.equal(listener.stats().accepted, 2);
  });

  it("with an allow list, closes every other address", async () => {
    const { port } = await listen({ allow: ["127.0.0.1/32"] });
    assert.equal(await open(port, OTHER_CLIENT), "");
    assert.equal(await open(port, LOCAL), "a\n");
  });

  it("limits the connection rate per client address", async () => {
    const { listener, port } = await listen({ rate_per_second: 0.01, burst: 1 });
    assert.equal(await open(port, LOCAL), "a\n");
    assert.equal(await open(port, LOCAL), "a\n");
    assert.equal(await open(port, LOCAL), "");
    assert.equal(await open(port, OTHER_CLIENT), "a\n");
    assert.equal(listener.stats().limitedConnections, 1);
    assert.ok(
      log.lines.some((l) => l.listener === "guarded-tcp" && l.reason === "rate_per_second"),
    );
  });

  it("closes a client's connection beyond connections_per_client until one closes", async () => {
    const { listener, port } = await listen({ connections_per_client: 1 });
    const held = await connectFrom(port, LOCAL);
    assert.equal(held.first, "a\n");
    assert.equal(await open(port, LOCAL), "");
    assert.equal(await open(port, OTHER_CLIENT), "a\n");
    const line = log.lines.find(
      (l) => l.listener === "guarded-tcp" && l.reason === "connections_per_client",
    );
    assert.ok(line, "the refusal is logged");
    assert.equal(line.client, LOCAL);
    held.socket.destroy();
    await waitFor("one open connection", () => listener.stats().open === 1, 3000);
    assert.equal(await open(port, LOCAL), "a\n");
  });

  it("closes any connection beyond max_connections", async () => {
    const { listener, port } = await listen({ max_connections: 1 });
    assert.equal(await open(port, LOCAL), "a\n");
    assert.equal(await open(port, OTHER_CLIENT), "");
    assert.equal(listener.stats().limitedConnections, 1);
  });

  it("follows a reload: a newly denied client's open connection is closed, and it is refused", async () => {
    const { listener, port } = await listen(undefined);
    const held = await connectFrom(port, LOCAL);
    sockets.push(held.socket);
    assert.equal(held.first, "a\n");
    const closed = new Promise((resolve) => held.socket.once("close", resolve));
    listener.update(configOf({ deny: ["127.0.0.1"] }));
    await closed;
    assert.equal(await open(port, LOCAL), "");
    assert.equal(await open(port, OTHER_CLIENT), "a\n");
    listener.update(configOf(undefined));
    assert.equal(await open(port, LOCAL), "a\n");
  });
});
