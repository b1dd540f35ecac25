/**
 * Retries and failover: another backend after a refused connect or a retried status, never
 * the same backend twice in a row while another is up, only safe requests, and a budget
 * that stops retry storms.
 */
import assert from "node:assert/strict";
import { createServer } from "node:net";
import { after, describe, it } from "node:test";
import { backendsOf, fetchText, startBackend, startProxy, type TestBackend } from "./helpers.js";

/** A loopback port with nothing listening on it. */
async function deadPort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const { port } = server.address() as { port: number };
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return port;
}

/** Backends that answer `status` and record which backend saw which request id, in order. */
async function recordingBackends(names: string[], status: number, hits: Map<string, string[]>) {
  return Promise.all(
    names.map((name) =>
      startBackend(name, (req, res) => {
        const id = String(req.headers["x-request-id"]);
        hits.set(id, [...(hits.get(id) ?? []), name]);
        req.resume();
        res.statusCode = status;
        res.end(name);
      }),
    ),
  );
}

describe("http retries", () => {
  const cleanup: (() => Promise<void>)[] = [];
  after(async () => {
    for (const close of cleanup.reverse()) await close();
  });

  it("a refused connect goes to another backend, for every method", async () => {
    const live = await startBackend("live");
    cleanup.push(() => live.close());
    const port = await deadPort();
    const proxy = await startProxy(
      { default_pool: "p", retries: { budget_percent: 100, min_retries_per_second: 100 } },
      {
        p: {
          algorithm: "rr",
          backends: [{ address: `127.0.0.1:${port}`, name: "dead" }, ...backendsOf([live])],
        },
      },
    );
    cleanup.push(() => proxy.close());
    for (let i = 0; i < 6; i++) {
      const reply = await fetchText(proxy.port, "/", {
        method: i % 2 === 0 ? "GET" : "POST",
        body: i % 2 === 0 ? undefined : "data",
      });
      assert.equal(reply.status, 200);
      assert.equal(reply.body, "live");
    }
    const dead = proxy.pools.get("p")!.get("dead")!;
    assert.ok(dead.counters.failures >= 3, "the refused backend was reported as failed");
    assert.equal(dead.active + dead.inactive, 0);
  });

  it("never tries the same backend twice in a row while another is up", async () => {
    const hits = new Map<string, string[]>();
    const backends = await recordingBackends(["a", "b", "c"], 503, hits);
    cleanup.push(async () => {
      await Promise.all(backends.map((b) => b.close()));
    });
    for (const algorithm of ["rr", "wrr", "random", "lc", "p2c", "maglev", "chash", "sh"]) {
      hits.clear();
      const proxy = await startProxy(
        {
          default_pool: "p",
          retries: { attempts: 2, budget_percent: 100, min_retries_per_second: 1000 },
        },
        { p: { algorithm, backends: backendsOf(backends) } },
      );
      try {
        for (let i = 0; i < 20; i++) {
          const reply = await fetchText(proxy.port, `/${i}`);
          assert.equal(reply.status, 503);
        }
      } finally {
        await proxy.close();
      }
      assert.equal(hits.size, 20);
      for (const [id, sequence] of hits) {
        assert.equal(sequence.length, 3, `${algorithm} ${id}: ${sequence}`);
        for (let i = 1; i < sequence.length; i++) {
          assert.notEqual(sequence[i], sequence[i - 1], `${algorithm} ${id}: ${sequence}`);
        }
      }
    }
  });

  it("does not retry a POST that reached a backend", async () => {
    const hits = new Map<string, string[]>();
    const backends: TestBackend[] = await recordingBackends(["a", "b"], 503, hits);
    cleanup.push(async () => {
      await Promise.all(backends.map((b) => b.close()));
    });
    const proxy = await startProxy(
      { default_pool: "p", retries: { attempts: 2 } },
      { p: { backends: backendsOf(backends) } },
    );
    cleanup.push(() => proxy.close());
    const reply = await fetchText(proxy.port, "/", { method: "POST", body: "order" });
    assert.equal(reply.status, 503);
    assert.equal([...hits.values()][0].length, 1);
  });

  it("the retry budget stops a retry storm when every backend fails", async () => {
    const count = async (budgetPercent: number, floor: number): Promise<number> => {
      const hits = new Map<string, string[]>();
      const backends = await recordingBackends(["a", "b", "c"], 502, hits);
      const proxy = await startProxy(
        {
          default_pool: "p",
          retries: { attempts: 2, budget_percent: budgetPercent, min_retries_per_second: floor },
        },
        { p: { backends: backendsOf(backends) } },
      );
      try {
        for (let i = 0; i < 60; i++) await fetchText(proxy.port, "/");
      } finally {
        await proxy.close();
        await Promise.all(backends.map((b) => b.close()));
      }
      let total = 0;
      for (const sequence of hits.values()) total += sequence.length;
      return total;
    };
    const unlimited = await count(100, 1000);
    const budgeted = await count(10, 1);
    assert.equal(unlimited, 180, "with room in the budget every request is tried 3 times");
    // 10% of 60 requests, plus the per-second floor of 1 for the seconds the loop spans.
    assert.ok(budgeted <= 60 + 6 + 3, `budgeted run sent ${budgeted} requests`);
  });
});
