/**
 * A udp session ends in the pool it started in: after a reload points the listener at
 * another pool, the old pool's persistence binding still loses the session's connection.
 */
import assert from "node:assert/strict";
import { createSocket } from "node:dgram";
import { once } from "node:events";
import { after, describe, it } from "node:test";
import { udpListenerSchema } from "../../src/config/schema/index.js";
import { silentLogger } from "../../src/log.js";
import { Pool } from "../../src/pool/pool.js";
import { createUdpListener } from "../../src/udp/listener.js";
import { runCleanups } from "../support/cleanups.js";

const cleanups: (() => Promise<void> | void)[] = [];
after(async () => {
  await runCleanups(cleanups);
});

describe("udp listener moved to another pool", () => {
  it("releases the old pool's persistence binding when its session ends", async () => {
    const echo = createSocket("udp4");
    echo.on("message", (message, remote) => echo.send(message, remote.port, remote.address));
    await new Promise<void>((resolve) => echo.bind(0, "127.0.0.1", resolve));
    cleanups.push(() => new Promise<void>((resolve) => echo.close(() => resolve())));
    const backend = { id: "a", host: "127.0.0.1", port: echo.address().port };
    const first = new Pool("first", [backend], { algorithm: "rr", persistenceMs: 60_000 });
    const second = new Pool("second", [backend], { algorithm: "rr" });
    cleanups.push(() => {
      first.close();
      second.close();
    });
    const config = (pool: string) =>
      udpListenerSchema.parse({ name: "u", protocol: "udp", bind: "127.0.0.1:0", pool });
    const pools = new Map([
      ["first", first],
      ["second", second],
    ]);
    const listener = createUdpListener(config("first"), { pools, logger: silentLogger });
    await listener.start();
    cleanups.push(() => listener.stop());

    const client = createSocket("udp4");
    await new Promise<void>((resolve) => client.bind(0, "127.0.0.1", resolve));
    cleanups.push(() => new Promise<void>((resolve) => client.close(() => resolve())));
    const answered = once(client, "message", { signal: AbortSignal.timeout(2000) });
    client.send("q", listener.address().port, "127.0.0.1");
    await answered;
    const table = first.persistence!;
    assert.equal(table.rows()[0]?.connections, 1, "the session holds the binding");

    listener.update(config("second"));
    await listener.stop();
    assert.equal(first.get("a")!.active, 0, "the lease went back to the first pool");
    assert.equal(table.rows()[0]?.connections, 0, "the binding lingers without the session");
  });
});
