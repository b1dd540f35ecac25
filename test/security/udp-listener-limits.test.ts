/**
 * The udp listener applies `limits` per datagram and per session on real loopback sockets:
 * denied addresses and datagrams over the rate are dropped, sessions beyond the connection
 * limits are not opened, and a reload that denies a client ends its sessions.
 */
import assert from "node:assert/strict";
import { createSocket, type Socket } from "node:dgram";
import { once } from "node:events";
import { after, before, describe, it } from "node:test";
import { udpListenerSchema } from "../../src/config/schema/index.js";
import { Pool } from "../../src/pool/pool.js";
import { createUdpListener, type UdpListener } from "../../src/udp/listener.js";
import { waitFor } from "../support/wait.js";
import { capturingLogger, OTHER_CLIENT } from "./helpers.js";

const LOCAL = "127.0.0.1";

describe("udp listener limits", () => {
  const sockets: Socket[] = [];
  const listeners: UdpListener[] = [];
  let backend: Socket;
  let backendReceived = 0;
  let pool: Pool;
  const log = capturingLogger();

  before(async () => {
    backend = createSocket("udp4");
    backend.on("message", (message, remote) => {
      backendReceived++;
      backend.send(`echo:${message}`, remote.port, remote.address);
    });
    await new Promise<void>((resolve) => backend.bind(0, "127.0.0.1", resolve));
    pool = new Pool("p", [{ id: "b", host: "127.0.0.1", port: backend.address().port }], {
      algorithm: "rr",
    });
  });

  after(async () => {
    for (const listener of listeners) await listener.stop();
    for (const socket of sockets) socket.close();
    pool.close();
    backend.close();
  });

  function configOf(limits: Record<string, unknown> | undefined) {
    return udpListenerSchema.parse({
      name: "guarded-udp",
      protocol: "udp",
      bind: "127.0.0.1:0",
      pool: "p",
      limits,
    });
  }

  async function listen(limits: Record<string, unknown> | undefined) {
    const listener = createUdpListener(configOf(limits), {
      pools: new Map([["p", pool]]),
      logger: log.logger,
    }) as UdpListener;
    await listener.start();
    listeners.push(listener);
    return { listener, port: listener.address().port };
  }

  /** A client socket bound to `address` on an ephemeral port. */
  async function clientAt(address: string): Promise<Socket> {
    const socket = createSocket("udp4");
    await new Promise<void>((resolve) => socket.bind(0, address, resolve));
    sockets.push(socket);
    return socket;
  }

  async function ask(socket: Socket, port: number, text: string): Promise<string> {
    const answer = once(socket, "message", { signal: AbortSignal.timeout(2000) });
    socket.send(text, port, "127.0.0.1");
    const [message] = (await answer) as [Buffer];
    return message.toString();
  }

  it("drops datagrams of a denied address and forwards the others", async () => {
    const { listener, port } = await listen({ deny: [`${OTHER_CLIENT}/32`] });
    const denied = await clientAt(OTHER_CLIENT);
    const allowed = await clientAt(LOCAL);
    const before = backendReceived;
    denied.send("no", port, "127.0.0.1");
    await waitFor("deniedDatagrams 1", () => listener.stats().deniedDatagrams === 1, 3000);
    assert.equal(await ask(allowed, port, "yes"), "echo:yes");
    assert.equal(backendReceived - before, 1, "the denied datagram never reached the backend");
    assert.equal(listener.stats().sessions, 1);
    assert.ok(log.lines.some((l) => l.listener === "guarded-udp" && l.reason === "denied"));
  });

  it("drops datagrams over the rate, per client address", async () => {
    const { listener, port } = await listen({ rate_per_second: 0.01, burst: 2 });
    const client = await clientAt(LOCAL);
    for (let i = 0; i < 3; i++) assert.equal(await ask(client, port, `q${i}`), `echo:q${i}`);
    client.send("over", port, "127.0.0.1");
    await waitFor("limitedDatagrams 1", () => listener.stats().limitedDatagrams === 1, 3000);
    assert.equal(await ask(await clientAt(OTHER_CLIENT), port, "other"), "echo:other");
  });

  it("opens no session beyond connections_per_client, and again once one ends", async () => {
    const { listener, port } = await listen({ connections_per_client: 1 });
    const first = await clientAt(LOCAL);
    const second = await clientAt(LOCAL);
    assert.equal(await ask(first, port, "1"), "echo:1");
    second.send("2", port, "127.0.0.1");
    await waitFor("limitedDatagrams 1", () => listener.stats().limitedDatagrams === 1, 3000);
    assert.equal(listener.stats().sessions, 1);
    assert.equal(await ask(await clientAt(OTHER_CLIENT), port, "3"), "echo:3");
    // Ending the first session (a reload that denies, then allows again) frees its place.
    listener.update(configOf({ connections_per_client: 1, deny: [LOCAL] }));
    assert.equal(listener.stats().sessions, 1, "only the other address's session is left");
    listener.update(configOf({ connections_per_client: 1 }));
    assert.equal(await ask(second, port, "4"), "echo:4");
    first.send("5", port, "127.0.0.1");
    await waitFor("limitedDatagrams 2", () => listener.stats().limitedDatagrams === 2, 3000);
  });

  it("opens no session beyond max_connections", async () => {
    const { listener, port } = await listen({ max_connections: 1 });
    assert.equal(await ask(await clientAt(LOCAL), port, "1"), "echo:1");
    (await clientAt(OTHER_CLIENT)).send("2", port, "127.0.0.1");
    await waitFor("limitedDatagrams 1", () => listener.stats().limitedDatagrams === 1, 3000);
    assert.equal(listener.stats().sessions, 1);
  });

  it("follows a reload: a newly denied client's sessions end and its datagrams drop", async () => {
    const { listener, port } = await listen(undefined);
    const client = await clientAt(LOCAL);
    assert.equal(await ask(client, port, "1"), "echo:1");
    assert.equal(listener.stats().sessions, 1);
    listener.update(configOf({ deny: ["127.0.0.0/8"] }));
    assert.equal(listener.stats().sessions, 0);
    client.send("2", port, "127.0.0.1");
    await waitFor("deniedDatagrams 1", () => listener.stats().deniedDatagrams === 1, 3000);
    listener.update(configOf(undefined));
    assert.equal(await ask(client, port, "3"), "echo:3");
  });
});
