/** The udp listener: sessions, per-datagram balancing, the bounded session table. */
import assert from "node:assert/strict";
import { createSocket, type RemoteInfo, type Socket } from "node:dgram";
import { once } from "node:events";
import { after, describe, it } from "node:test";
import { runCleanups } from "../support/cleanups.js";
import { waitFor } from "../support/wait.js";
import { frontUdp } from "./helpers.js";

const cleanups: (() => Promise<void> | void)[] = [];
after(async () => {
  await runCleanups(cleanups);
});

/** A udp server on 127.0.0.1:0 that answers every datagram with "name:payload". */
async function namedUdpEcho(name: string): Promise<{ port: number; received: () => number }> {
  const socket = createSocket("udp4");
  let received = 0;
  socket.on("message", (message, remote) => {
    received++;
    socket.send(`${name}:${message}`, remote.port, remote.address);
  });
  await new Promise<void>((resolve) => socket.bind(0, "127.0.0.1", resolve));
  cleanups.push(() => new Promise<void>((resolve) => socket.close(() => resolve())));
  return { port: socket.address().port, received: () => received };
}

/** A client socket bound to an ephemeral loopback port. */
async function udpClient(): Promise<Socket> {
  const socket = createSocket("udp4");
  await new Promise<void>((resolve) => socket.bind(0, "127.0.0.1", resolve));
  cleanups.push(() => new Promise<void>((resolve) => socket.close(() => resolve())));
  return socket;
}

/** Sends one datagram and waits for the answer (bounded by 2 s). */
async function ask(socket: Socket, port: number, text: string): Promise<[string, RemoteInfo]> {
  socket.send(text, port, "127.0.0.1");
  const answer = once(socket, "message", { signal: AbortSignal.timeout(2000) });
  const [message, remote] = (await answer) as [Buffer, RemoteInfo];
  return [message.toString(), remote];
}

describe("udp listener", () => {
  it("keeps a client address and port on one backend, and answers from the listener's address", async () => {
    const a = await namedUdpEcho("a");
    const b = await namedUdpEcho("b");
    const front = await frontUdp([
      { id: "a", host: "127.0.0.1", port: a.port },
      { id: "b", host: "127.0.0.1", port: b.port },
    ]);
    cleanups.push(front.close);
    const first = await udpClient();
    const second = await udpClient();
    const [reply1, from] = await ask(first, front.port, "q1");
    assert.equal(from.port, front.port, "the reply comes from the listener's port");
    assert.equal(from.address, "127.0.0.1");
    const firstBackend = reply1.split(":")[0];
    for (let i = 0; i < 4; i++) {
      assert.equal((await ask(first, front.port, `q${i}`))[0], `${firstBackend}:q${i}`);
    }
    const [reply2] = await ask(second, front.port, "x");
    assert.notEqual(
      reply2.split(":")[0],
      firstBackend,
      "the next session goes to the next backend",
    );
    assert.equal(front.listener.sessions().length, 2);
    // The same table under the Listener contract's name, for the admin API.
    assert.equal(front.listener.connections().length, 2);
    const backend = front.pool.get(firstBackend)!;
    assert.equal(backend.active, 1, "a session counts as one active connection");
  });

  it("balances every datagram on its own in datagram mode", async () => {
    const a = await namedUdpEcho("a");
    const b = await namedUdpEcho("b");
    const front = await frontUdp(
      [
        { id: "a", host: "127.0.0.1", port: a.port },
        { id: "b", host: "127.0.0.1", port: b.port },
      ],
      { mode: "datagram" },
    );
    cleanups.push(front.close);
    const client = await udpClient();
    const names = [];
    for (let i = 0; i < 6; i++) names.push((await ask(client, front.port, "q"))[0].split(":")[0]);
    assert.deepEqual(names, ["a", "b", "a", "b", "a", "b"]);
    assert.equal(front.pool.get("a")!.active + front.pool.get("a")!.inactive, 0);
    assert.equal(front.pool.get("a")!.counters.picks, 3);
  });

  it("ends sessions idle for the session timeout and releases their backend", async () => {
    const a = await namedUdpEcho("a");
    const front = await frontUdp([{ id: "a", host: "127.0.0.1", port: a.port }], {
      session_timeout: "150ms",
    });
    cleanups.push(front.close);
    const client = await udpClient();
    await ask(client, front.port, "q");
    assert.equal(front.pool.get("a")!.active, 1);
    await waitFor("the session table to empty", () => front.listener.sessions().length === 0, 3000);
    assert.equal(front.pool.get("a")!.active, 0);
    assert.equal(front.listener.stats().sessionsExpired, 1);
  });

  it("bounds the session table, evicting the least recently used session", async () => {
    const a = await namedUdpEcho("a");
    const front = await frontUdp([{ id: "a", host: "127.0.0.1", port: a.port }], {
      max_sessions: 3,
    });
    cleanups.push(front.close);
    const clients = [];
    for (let i = 0; i < 5; i++) {
      const client = await udpClient();
      clients.push(client);
      await ask(client, front.port, `c${i}`);
    }
    const rows = front.listener.sessions();
    assert.equal(rows.length, 3);
    const kept = rows.map((row) => Number(row.client.split(":")[1])).sort();
    const newest = clients
      .slice(2)
      .map((c) => c.address().port)
      .sort();
    assert.deepEqual(kept, newest, "the two oldest sessions were evicted");
    assert.equal(front.listener.stats().sessionsEvicted, 2);
    assert.equal(front.pool.get("a")!.active, 3, "evicted sessions released their lease");
    // An evicted client simply starts a new session.
    assert.equal((await ask(clients[0], front.port, "again"))[0], "a:again");
  });

  it("drops datagrams with a log line when the pool has no backend", async () => {
    const front = await frontUdp([]);
    cleanups.push(front.close);
    const client = await udpClient();
    client.send("q", front.port, "127.0.0.1");
    await waitFor("a noBackend count", () => front.listener.stats().noBackend === 1);
    assert.equal(front.listener.sessions().length, 0);
  });
});
