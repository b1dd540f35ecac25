/**
 * The tcp listener's connect and idle timeouts come from one sweep of its connections (no
 * timer per socket); while a graceful stop waits for open connections, the sweep goes on, so
 * a hanging connect and an idle connection still end at their timeouts, not at the stop's.
 */
import assert from "node:assert/strict";
import { once } from "node:events";
import { after, describe, it } from "node:test";
import { blackholePort as blackhole } from "../support/blackhole-port.js";
import { runCleanups } from "../support/cleanups.js";
import { waitFor } from "../support/wait.js";
import { dial, frontTcp, tcpServer } from "./helpers.js";

const cleanups: (() => Promise<void> | void)[] = [];
after(async () => {
  await runCleanups(cleanups);
});

/** Far longer than any timeout below: a stop that waits this long has missed them. */
const STOP_TIMEOUT_MS = 60_000;
/** How long a test waits for what a timeout of at most 300 ms should have done. */
const LIMIT_MS = 10_000;

/** `promise`, or a rejection naming `what` after LIMIT_MS. */
async function within<T>(what: string, promise: Promise<T>): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const late = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`gave up waiting for ${what}`)), LIMIT_MS);
  });
  try {
    return await Promise.race([promise, late]);
  } finally {
    clearTimeout(timer);
  }
}

describe("tcp listener timeouts during a graceful stop", () => {
  it("resets a client whose backend connect hangs once the connect timeout passes", async () => {
    const hole = await blackhole();
    cleanups.push(() => hole.close());
    const front = await frontTcp([{ id: "silent", host: "127.0.0.1", port: hole.port }], {
      timeouts: { connect: "300ms", idle: "10m" },
      retries: 0,
    });
    cleanups.push(front.close);
    const client = await dial(front.port);
    const ended = once(client, "error").then(([error]) => (error as NodeJS.ErrnoException).code);
    const silent = front.pool.get("silent")!;
    await waitFor("the connect under way", () => silent.inactive === 1);

    const stopped = front.listener.stop({ graceful: true, timeoutMs: STOP_TIMEOUT_MS });
    assert.equal(await within("the client's reset", ended), "ECONNRESET");
    await within("the stop", stopped);
    assert.equal(front.listener.stats().connectFailures, 1);
    assert.equal(front.listener.stats().noBackend, 1);
    await waitFor("no connect counted on the silent backend", () => silent.inactive === 0);
  });

  it("closes a connection left idle for the idle timeout", async () => {
    const server = await tcpServer(() => {});
    cleanups.push(server.close);
    const front = await frontTcp([{ host: "127.0.0.1", port: server.port }], {
      timeouts: { connect: "5s", idle: "300ms" },
    });
    cleanups.push(front.close);
    const client = await dial(front.port);
    client.on("error", () => {});
    await waitFor("the connection at the server", () => server.sockets.size === 1);

    const stopped = front.listener.stop({ graceful: true, timeoutMs: STOP_TIMEOUT_MS });
    await within("the idle connection's close", once(client, "close"));
    await within("the stop", stopped);
    await waitFor("an empty connection table", () => front.listener.stats().open === 0);
  });
});
