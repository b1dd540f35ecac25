/**
 * Records backed by pools: answers are the pool's up backends in its algorithm's order,
 * `answers: N` distinct ones; drain and weight 0 keep a backend out; health is known before
 * the first answer; the configured outage rule applies when nothing is up; a backend killed
 * while queries run leaves every answer within TTL + fall × interval.
 */
import assert from "node:assert/strict";
import { createServer, type Server } from "node:net";
import { after, describe, it } from "node:test";
import type { Runtime } from "../../src/runtime/runtime.js";
import { dig, portOf, startRuntime } from "./helpers.js";

/** A TCP server that accepts and closes: enough for a `tcp` health check. */
async function listen(host: string): Promise<{ port: number; close(): Promise<void> }> {
  const server: Server = createServer((socket) => socket.destroy());
  await new Promise<void>((resolve) => server.listen(0, host, resolve));
  const port = (server.address() as { port: number }).port;
  return { port, close: () => new Promise((resolve) => server.close(() => resolve())) };
}

/** A port on `host` that nothing listens on. */
async function deadPort(host: string): Promise<number> {
  const probe = await listen(host);
  await probe.close();
  return probe.port;
}

async function addresses(port: number, name: string): Promise<string[]> {
  const r = await dig(port, [name, "A"]);
  return r.answers.filter((a) => a[3] === "A").map((a) => a[4]);
}

function config(pools: string, records: string): string {
  return `
listeners:
  - name: dns
    protocol: dns
    bind: "127.0.0.1:0"
    zones:
      - origin: example.test
        ns: [ns1.example.test]
        records:
${records}
pools:
${pools}
`;
}

describe("answers follow pool health", () => {
  const cleanup: Array<() => Promise<unknown>> = [];
  after(async () => {
    for (const step of cleanup.reverse()) await step();
  });

  it("answers N distinct up backends, rotating in round robin order, skipping drained and weight 0", async () => {
    const hosts = ["127.0.0.2", "127.0.0.3", "127.0.0.4", "127.0.0.5"];
    const runtime: Runtime = await startRuntime(
      config(
        `  web:
    algorithm: rr
    backends:
      - { address: "127.0.0.2:80" }
      - { address: "127.0.0.3:80" }
      - { address: "127.0.0.4:80" }
      - { address: "127.0.0.5:80", weight: 0 }`,
        `          - { name: www, type: A, pool: web, answers: 2, ttl: 5 }`,
      ),
    );
    cleanup.push(() => runtime.stop({ graceful: false }));
    const port = portOf(runtime);
    const seen = new Set<string>();
    for (let i = 0; i < 6; i++) {
      const answer = await addresses(port, "www.example.test");
      assert.equal(answer.length, 2, `answer ${i}: ${answer}`);
      assert.notEqual(answer[0], answer[1]);
      for (const a of answer) seen.add(a);
    }
    assert.deepEqual([...seen].sort(), hosts.slice(0, 3), "weight 0 is never answered");
    runtime.pools.get("web")!.drain("127.0.0.3:80");
    for (let i = 0; i < 4; i++) {
      assert.ok(!(await addresses(port, "www.example.test")).includes("127.0.0.3"), "drained");
    }
  });

  it("never answers a dead backend, not even in the first answer after start", async () => {
    const live = await listen("127.0.0.2");
    cleanup.push(live.close);
    const dead = await deadPort("127.0.0.3");
    const runtime = await startRuntime(
      config(
        `  web:
    algorithm: rr
    health_check: { type: tcp, interval: 5s, timeout: 500ms, initial_state: down }
    backends:
      - { address: "127.0.0.2:${live.port}" }
      - { address: "127.0.0.3:${dead}" }`,
        `          - { name: www, type: A, pool: web, answers: 2, when_all_down: servfail }`,
      ),
    );
    cleanup.push(() => runtime.stop({ graceful: false }));
    const port = portOf(runtime);
    // Before the first verdict the initial state holds (down: SERVFAIL), never the dead one.
    let answered: string[] = [];
    for (let i = 0; i < 50 && answered.length === 0; i++) {
      const r = await dig(port, ["www.example.test", "A"]);
      answered = r.answers.map((a) => a[4]);
      assert.ok(r.status === "SERVFAIL" || r.status === "NOERROR", r.text);
      if (answered.length === 0) await new Promise((resolve) => setTimeout(resolve, 20));
    }
    assert.deepEqual(answered, ["127.0.0.2"]);
  });

  it("applies the outage rule: all, a fallback pool, a sorry CNAME, SERVFAIL", async () => {
    const d1 = await deadPort("127.0.0.2");
    const d2 = await deadPort("127.0.0.3");
    const spare = await listen("127.0.0.9");
    cleanup.push(spare.close);
    const check = "health_check: { type: tcp, interval: 5s, timeout: 500ms, initial_state: down }";
    const runtime = await startRuntime(
      config(
        `  web:
    ${check}
    backends: [{ address: "127.0.0.2:${d1}" }, { address: "127.0.0.3:${d2}" }]
  spare:
    ${check}
    backends: [{ address: "127.0.0.9:${spare.port}" }]`,
        `          - { name: all, type: A, pool: web, answers: 1 }
          - { name: fallback, type: A, pool: web, when_all_down: { pool: spare } }
          - { name: sorry, type: A, pool: web, when_all_down: { cname: sorry.example.test } }
          - { name: fail, type: A, pool: web, when_all_down: servfail }`,
      ),
    );
    cleanup.push(() => runtime.stop({ graceful: false }));
    const port = portOf(runtime);
    const spareUp = () => runtime.pools.get("spare")!.backends[0].health === "up";
    for (let i = 0; i < 250 && !spareUp(); i++) await new Promise((r) => setTimeout(r, 20));
    assert.deepEqual((await addresses(port, "all.example.test")).sort(), [
      "127.0.0.2",
      "127.0.0.3",
    ]);
    assert.deepEqual(await addresses(port, "fallback.example.test"), ["127.0.0.9"]);
    const sorry = await dig(port, ["sorry.example.test", "A"]);
    assert.deepEqual(
      sorry.answers.map((a) => [a[3], a[4]]),
      [["CNAME", "sorry.example.test."]],
    );
    assert.equal((await dig(port, ["fail.example.test", "A"])).status, "SERVFAIL");
  });

  it("drops a backend killed while queries run within TTL + fall × interval", async () => {
    const a = await listen("127.0.0.2");
    const b = await listen("127.0.0.3");
    cleanup.push(a.close);
    const interval = 200;
    const fall = 2;
    const ttl = 1;
    // Generous, for a busy machine; a refused connect fails the check at once anyway.
    const timeout = 1000;
    const runtime = await startRuntime(
      config(
        `  web:
    algorithm: rr
    health_check: { type: tcp, interval: ${interval}ms, timeout: ${timeout}ms, fall: ${fall}, jitter: 0 }
    backends: [{ address: "127.0.0.2:${a.port}" }, { address: "127.0.0.3:${b.port}" }]`,
        `          - { name: www, type: A, pool: web, answers: 2, ttl: ${ttl} }`,
      ),
    );
    cleanup.push(() => runtime.stop({ graceful: false }));
    const port = portOf(runtime);
    assert.deepEqual((await addresses(port, "www.example.test")).sort(), [
      "127.0.0.2",
      "127.0.0.3",
    ]);
    await b.close();
    const killedAt = performance.now();
    // The bound: TTL + fall × interval, plus one check timeout for the check in flight.
    const bound = ttl * 1000 + fall * interval + timeout;
    const late: string[][] = [];
    for (let i = 0; i < 400; i++) {
      const answer = await addresses(port, "www.example.test");
      const elapsed = performance.now() - killedAt;
      if (elapsed > bound) late.push(answer);
      if (elapsed > bound + 1500 && late.length >= 3) break;
      await new Promise((resolve) => setTimeout(resolve, 10));
    }
    assert.ok(late.length >= 3, `queries ran past the bound: ${late.length}`);
    for (const answer of late) assert.deepEqual(answer, ["127.0.0.2"]);
  });
});
