/** Two redis-server instances behind a tcp listener, driven by redis-benchmark. */
import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import type { TcpListener } from "../../src/tcp/listener.js";
import { run } from "../support/daemon.js";
import { requireProgram } from "../support/programs.js";
import { type RealServer, redisInfo, startRedis } from "../support/servers.js";
import { dial, type Fronted, frontTcp, readUntil } from "./helpers.js";

let redisA: RealServer;
let redisB: RealServer;
let front: Fronted<TcpListener>;

before(async () => {
  [redisA, redisB] = await Promise.all([startRedis(), startRedis()]);
  front = await frontTcp(
    [
      { id: "a", host: "127.0.0.1", port: redisA.port },
      { id: "b", host: "127.0.0.1", port: redisB.port },
    ],
    {},
    { algorithm: "wlc" },
  );
});

after(async () => {
  await front?.close();
  await Promise.all([redisA?.stop(), redisB?.stop()]);
});

/** One PING over a new connection through the listener; resolves to the reply line. */
async function pingOnce(port: number): Promise<string> {
  const socket = await dial(port);
  socket.write("PING\r\n");
  const reply = await readUntil(socket, (text) => text.includes("\r\n"), 3000);
  socket.destroy();
  return reply.trim();
}

function benchmark(args: string[]) {
  return run(
    requireProgram("redis-benchmark"),
    ["-h", "127.0.0.1", "-p", String(front.port), "-t", "set,get", "-q", "--csv", ...args],
    120_000,
  );
}

describe("redis behind a tcp listener", () => {
  it("spreads redis-benchmark's connections and commands over both instances without errors", async () => {
    const before = [
      await redisInfo(redisA.port, "total_commands_processed"),
      await redisInfo(redisB.port, "total_commands_processed"),
    ];
    const result = await benchmark(["-n", "20000", "-c", "20", "-P", "4"]);
    assert.equal(result.code, 0, result.stderr);
    assert.doesNotMatch(result.stdout + result.stderr, /error|ERR/i);
    assert.match(result.stdout, /"SET"/);
    const a = (await redisInfo(redisA.port, "total_commands_processed")) - before[0];
    const b = (await redisInfo(redisB.port, "total_commands_processed")) - before[1];
    // 40000 commands over 20 connections, wlc spreads the connections 10/10.
    assert.ok(a + b >= 40_000, `a=${a} b=${b}`);
    assert.ok(a > 10_000 && b > 10_000, `both instances served: a=${a} b=${b}`);
    assert.equal(front.listener.stats().connectFailures, 0);
  });

  it("sends new connections to the survivor when one instance is killed mid-run", async () => {
    const survivorBefore = await redisInfo(redisB.port, "total_connections_received");
    let sent = 0;
    let failedAfterKill = 0;
    let killed = false;
    // Short-lived connections, bounded in count: each is a new pick.
    for (let i = 0; i < 200; i++) {
      if (i === 50) {
        await redisA.daemon.stop();
        killed = true;
      }
      const reply = await pingOnce(front.port).catch((error: Error) => error.message);
      sent++;
      if (killed && reply !== "+PONG") failedAfterKill++;
    }
    assert.equal(sent, 200);
    assert.equal(failedAfterKill, 0, "every connection after the kill reached the survivor");
    assert.ok(
      front.listener.stats().connectFailures > 0,
      "the dead instance was tried and skipped",
    );
    const survivorAfter = await redisInfo(redisB.port, "total_connections_received");
    assert.ok(survivorAfter - survivorBefore >= 150);

    // redis-benchmark with a new connection per request (-k 0) sees no error either.
    const result = await benchmark(["-n", "2000", "-c", "10", "-k", "0"]);
    assert.equal(result.code, 0, result.stderr);
    assert.doesNotMatch(result.stdout + result.stderr, /error|ERR/i);
  });
});
