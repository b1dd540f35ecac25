/** A backend killed during a bounded load run causes zero failed idempotent requests. */
import assert from "node:assert/strict";
import { Agent } from "node:http";
import { after, describe, it } from "node:test";
import {
  backendsOf,
  fetchText,
  startBackend,
  startProxy,
  type TestBackend,
  type TestProxy,
} from "./helpers.js";

describe("http failover under load", () => {
  let backends: TestBackend[] = [];
  let proxy: TestProxy | undefined;
  after(async () => {
    await proxy?.close();
    await Promise.all(backends.map((b) => b.close()));
  });

  it("keeps every GET successful while one of three backends dies mid-run", async () => {
    backends = await Promise.all(
      ["a", "b", "c"].map((name) =>
        startBackend(name, (req, res) => {
          req.resume();
          // A little latency so requests are in flight when the backend dies.
          setTimeout(() => {
            if (!res.destroyed) res.end(name);
          }, 2);
        }),
      ),
    );
    proxy = await startProxy(
      {
        default_pool: "p",
        retries: { attempts: 2, budget_percent: 100, min_retries_per_second: 1000 },
      },
      { p: { algorithm: "rr", backends: backendsOf(backends) } },
    );
    const agent = new Agent({ keepAlive: true, maxSockets: 16 });
    const total = 1500;
    const concurrency = 16;
    const statuses = new Map<number, number>();
    const served = new Map<string, number>();
    let issued = 0;
    const victim = backends[1];
    const worker = async (): Promise<void> => {
      while (issued < total) {
        issued++;
        if (issued === total / 3) {
          // Kill it hard: stop listening and reset every open connection, in-flight or idle.
          victim.server.close();
          victim.server.closeAllConnections();
        }
        const reply = await fetchText(proxy!.port, "/", { agent });
        statuses.set(reply.status, (statuses.get(reply.status) ?? 0) + 1);
        served.set(reply.body, (served.get(reply.body) ?? 0) + 1);
      }
    };
    try {
      await Promise.all(Array.from({ length: concurrency }, worker));
    } finally {
      agent.destroy();
    }
    assert.deepEqual([...statuses.entries()], [[200, total]]);
    assert.ok((served.get("b") ?? 0) > 0, "the victim served before it died");
    assert.ok((served.get("a") ?? 0) + (served.get("c") ?? 0) > total / 2);
    for (const backend of proxy.pools.get("p")!.backends) {
      assert.equal(backend.active + backend.inactive, 0, `${backend.id} counts drained`);
    }
  });
});
