/**
 * Draining a backend for maintenance (a replica behind a read port): new connections go
 * elsewhere at once, open ones may finish, and those still open when the cap runs out are
 * closed, so the drain ends in bounded time. Enabling the backend again cancels the cap.
 */
import assert from "node:assert/strict";
import { once } from "node:events";
import { after, describe, it } from "node:test";
import { configSchema } from "../../src/config/schema/index.js";
import { Runtime } from "../../src/runtime/runtime.js";
import { runCleanups } from "../support/cleanups.js";
import { waitFor } from "../support/wait.js";
import { dial, namedEchoServer, readUntil, whoAnswers } from "./helpers.js";

const cleanups: (() => Promise<void> | void)[] = [];
after(async () => {
  await runCleanups(cleanups);
});

async function readPort() {
  const a = await namedEchoServer("a");
  const b = await namedEchoServer("b");
  cleanups.push(a.close, b.close);
  const config = configSchema.parse({
    listeners: [{ name: "read", protocol: "tcp", bind: "127.0.0.1:0", pool: "replicas" }],
    pools: {
      replicas: {
        algorithm: "rr",
        backends: [
          { name: "a", address: `127.0.0.1:${a.port}` },
          { name: "b", address: `127.0.0.1:${b.port}` },
        ],
      },
    },
  });
  const runtime = new Runtime(config);
  await runtime.start();
  cleanups.push(() => runtime.stop({ graceful: false }));
  const port = runtime.listeners.get("read")!.address().port;
  return { runtime, port, pool: runtime.pools.get("replicas")! };
}

/** A connection through the listener, held open, on backend `name`. */
async function holdOn(port: number, name: string) {
  for (let i = 0; i < 8; i++) {
    const socket = await dial(port);
    const first = await readUntil(socket, (t) => t.includes("\n"));
    if (first.startsWith(name)) return socket;
    socket.destroy();
  }
  throw new Error(`no connection reached ${name}`);
}

describe("drain with a cap", () => {
  it("new connections skip the drained backend; open ones live until the cap, then close", async () => {
    const { runtime, port, pool } = await readPort();
    const held = await holdOn(port, "a");
    const closed = once(held, "close");
    const startedAt = Date.now();
    assert.equal(runtime.drainBackend("replicas", "a", 400), true);
    for (let i = 0; i < 4; i++) assert.equal(await whoAnswers(port), "b");
    // Still open and still served while the drain waits.
    held.write("ping\n");
    assert.match(await readUntil(held, (t) => t.includes("ping")), /ping/);
    assert.equal(pool.get("a")!.connections, 1);
    await closed;
    assert.ok(Date.now() - startedAt >= 350, "closed by the cap, not before");
    await waitFor("the expected state", () => pool.get("a")!.connections === 0, 2000);
  });

  it("a connection that ends before the cap is not cut; enabling again cancels the cap", async () => {
    const { runtime, port, pool } = await readPort();
    const held = await holdOn(port, "a");
    runtime.drainBackend("replicas", "a", 300);
    pool.setEnabled("a", true); // maintenance called off
    await new Promise((resolve) => setTimeout(resolve, 500));
    held.write("still here\n");
    assert.match(await readUntil(held, (t) => t.includes("still here")), /still here/);
    held.destroy();
    await waitFor("the expected state", () => pool.get("a")!.connections === 0, 2000);
  });
});
