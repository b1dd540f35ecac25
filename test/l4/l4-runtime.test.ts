/** tcp and udp listeners built by the runtime from a config file's sections. */
import assert from "node:assert/strict";
import { createSocket } from "node:dgram";
import { once } from "node:events";
import { after, describe, it } from "node:test";
import { configSchema } from "../../src/config/schema/index.js";
import { Runtime } from "../../src/runtime/runtime.js";
import { runCleanups } from "../support/cleanups.js";
import { namedEchoServer, whoAnswers } from "./helpers.js";

const cleanups: (() => Promise<void> | void)[] = [];
after(async () => {
  await runCleanups(cleanups);
});

describe("L4 listeners from a config", () => {
  it("serves tcp with persistence from the pool section, and udp, then stops", async () => {
    const a = await namedEchoServer("a");
    const b = await namedEchoServer("b");
    const udpEcho = createSocket("udp4");
    udpEcho.on("message", (message, remote) => udpEcho.send(message, remote.port, remote.address));
    await new Promise<void>((resolve) => udpEcho.bind(0, "127.0.0.1", resolve));
    cleanups.push(a.close, b.close, () => new Promise<void>((r) => udpEcho.close(() => r())));
    const config = configSchema.parse({
      listeners: [
        { name: "db", protocol: "tcp", bind: "127.0.0.1:0", pool: "db" },
        { name: "dns", protocol: "udp", bind: "127.0.0.1:0", pool: "dns" },
      ],
      pools: {
        db: {
          algorithm: "rr",
          persistence: "1m",
          backends: [
            { name: "a", address: `127.0.0.1:${a.port}` },
            { name: "b", address: `127.0.0.1:${b.port}` },
          ],
        },
        dns: {
          persistence: "1m",
          backends: [{ address: `127.0.0.1:${udpEcho.address().port}` }],
        },
      },
    });
    const runtime = new Runtime(config);
    await runtime.start();
    cleanups.push(() => runtime.stop({ graceful: false }));
    const tcpPort = runtime.listeners.get("db")!.address().port;
    const first = await whoAnswers(tcpPort);
    for (let i = 0; i < 3; i++) assert.equal(await whoAnswers(tcpPort), first, "persistence: 1m");

    const client = createSocket("udp4");
    cleanups.push(() => new Promise<void>((r) => client.close(() => r())));
    client.send("ping", runtime.listeners.get("dns")!.address().port, "127.0.0.1");
    const [reply] = await once(client, "message", { signal: AbortSignal.timeout(2000) });
    assert.equal(String(reply), "ping");
    assert.equal(runtime.listeners.get("dns")!.connections?.().length, 1);
    // Both data planes list their pool's persistence bindings for the admin API and ctl.
    assert.equal(runtime.listeners.get("db")!.persistence?.().length, 1);
    const udpBindings = runtime.listeners.get("dns")!.persistence?.() as { client: string }[];
    assert.deepEqual(
      udpBindings.map((row) => row.client),
      ["127.0.0.1"],
    );
  });
});
