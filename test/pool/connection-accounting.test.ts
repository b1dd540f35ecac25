/**
 * Connection accounting stays exact under failures and cancellation: whatever order error
 * paths call `established` and `release` in, every count returns to zero.
 */
import assert from "node:assert/strict";
import type { AddressInfo } from "node:net";
import { createServer, type Server, Socket } from "node:net";
import { describe, it } from "node:test";
import type { Lease } from "../../src/pool/lease.js";
import type { Pool } from "../../src/pool/pool.js";
import { scriptedPool, seededRandom, specs } from "./helpers.js";

function assertIdle(pool: Pool): void {
  for (const backend of pool.backends) {
    assert.equal(backend.active, 0, `${backend.id} active`);
    assert.equal(backend.inactive, 0, `${backend.id} inactive`);
    assert.equal(backend.overloaded, false, `${backend.id} overloaded`);
  }
}

describe("connection accounting", () => {
  it("a lease counts inactive while opening, active once established, nothing once released", () => {
    const { pool } = scriptedPool(specs([1]));
    const [a] = pool.backends;
    const lease = pool.acquire()!;
    assert.deepEqual([a.active, a.inactive], [0, 1]);
    lease.established();
    assert.deepEqual([a.active, a.inactive], [1, 0]);
    lease.established();
    assert.deepEqual([a.active, a.inactive], [1, 0], "established twice counts once");
    lease.release({ ok: true });
    lease.release({ ok: false });
    assert.deepEqual([a.active, a.inactive], [0, 0], "released twice counts once");
    lease.established();
    assert.deepEqual([a.active, a.inactive], [0, 0], "established after release is ignored");
    assert.equal(a.counters.requests, 1);
    assert.equal(a.counters.failures, 0, "only the first outcome counts");
    pool.close();
  });

  it("returns to zero after a scripted storm of failures, cancellations and double releases", () => {
    const { pool, clock } = scriptedPool(
      specs([3, 2, 1, 1]).map((s) => ({ ...s, maxConnections: 40 })),
      { algorithm: "wlc" },
    );
    const random = seededRandom(2024);
    const open: Lease[] = [];
    let granted = 0;
    let outcomes = 0;
    for (let step = 0; step < 20_000; step++) {
      clock.advance(1);
      const roll = random();
      if (roll < 0.45 || open.length === 0) {
        const lease = pool.acquire();
        if (lease === undefined) continue; // every backend at its threshold: a 503
        granted++;
        open.push(lease);
        continue;
      }
      const lease = open[Math.floor(random() * open.length)];
      if (roll < 0.6) {
        lease.established();
      } else if (roll < 0.75) {
        // Cancelled while opening, or failed: the error handler and the close handler both release.
        if (!lease.closed) outcomes++;
        lease.release({ ok: false });
        lease.release({ ok: false });
      } else if (roll < 0.9) {
        if (!lease.closed) outcomes++;
        lease.release({ ok: true, latencyMs: 5 });
        lease.established(); // a late connect event after the request was already given up
      } else if (roll < 0.95) {
        const backend = pool.backends[Math.floor(random() * pool.backends.length)];
        pool.setHealth(backend.id, random() < 0.5 ? "down" : "up");
      } else {
        const backend = pool.backends[Math.floor(random() * pool.backends.length)];
        pool.setWeight(backend.id, Math.floor(random() * 4));
      }
      for (let i = open.length - 1; i >= 0; i--) if (open[i].closed) open.splice(i, 1);
    }
    for (const lease of open) {
      if (!lease.closed) outcomes++;
      lease.release({ ok: false });
    }
    assertIdle(pool);
    const requests = pool.backends.reduce((sum, b) => sum + b.counters.requests, 0);
    const picks = pool.backends.reduce((sum, b) => sum + b.counters.picks, 0);
    assert.ok(granted > 5_000, `the storm granted ${granted} leases`);
    assert.equal(picks, granted);
    assert.equal(requests, outcomes, "one outcome per lease, however often it was released");
    pool.close();
  });

  it("leases of a backend removed mid-flight release cleanly without touching the new one", () => {
    const { pool } = scriptedPool(specs([1]));
    const old = pool.backends[0];
    const lease = pool.acquire()!;
    lease.established();
    pool.remove(old.id);
    const fresh = pool.add({ id: old.id, host: old.host, port: old.port });
    lease.release({ ok: true });
    assert.deepEqual([old.active, old.inactive], [0, 0]);
    assert.deepEqual([fresh.active, fresh.inactive], [0, 0]);
    pool.close();
  });

  it("returns to zero when real connects fail, are aborted or reset on loopback", async () => {
    // One backend accepts and resets half the connections; the other port has no listener.
    const server: Server = createServer((socket) => {
      if (socket.remotePort !== undefined && socket.remotePort % 2 === 0) socket.resetAndDestroy();
      else socket.end();
    });
    await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
    const closed = createServer();
    await new Promise<void>((resolve) => closed.listen(0, "127.0.0.1", resolve));
    const closedPort = (closed.address() as AddressInfo).port;
    await new Promise<void>((resolve) => closed.close(() => resolve()));

    const { pool } = scriptedPool(
      [
        { id: "up", host: "127.0.0.1", port: (server.address() as AddressInfo).port },
        { id: "refused", host: "127.0.0.1", port: closedPort },
      ],
      { algorithm: "rr" },
    );
    const random = seededRandom(99);
    const attempts: Promise<void>[] = [];
    for (let i = 0; i < 200; i++) {
      const lease = pool.acquire()!;
      attempts.push(
        new Promise<void>((resolve) => {
          const socket = new Socket();
          // Every path releases; several fire for one socket (error then close), as in a data plane.
          socket.once("connect", () => lease.established());
          socket.once("error", () => lease.release({ ok: false }));
          socket.once("close", (hadError) => {
            lease.release({ ok: !hadError && lease.state === "active" });
            resolve();
          });
          socket.on("data", () => {});
          socket.connect(lease.backend.port, lease.backend.host);
          if (random() < 0.25) socket.destroy(); // cancelled by the client before connect
        }),
      );
    }
    assert.ok(
      pool.backends.some((b) => b.connections > 0),
      "connections were open meanwhile",
    );
    await Promise.all(attempts);
    await new Promise<void>((resolve) => server.close(() => resolve()));
    assertIdle(pool);
    assert.equal(pool.get("up")!.counters.requests + pool.get("refused")!.counters.requests, 200);
    assert.equal(pool.get("refused")!.counters.failures, 100, "every refused connect failed");
    pool.close();
  });
});
