/**
 * A pool-backed record answers in the order its pool's algorithm chooses: `wrr` gives each
 * backend its exact share of answers by weight, `wrandom` its share on average, `chash`
 * keeps one client subnet on one backend (and moves only the clients of a backend that goes
 * down), and `backup` backends answer only while every primary is down.
 */
import assert from "node:assert/strict";
import { createSocket, type Socket } from "node:dgram";
import { after, before, describe, it } from "node:test";
import dnsPacket from "dns-packet";
import type { Runtime } from "../../src/runtime/runtime.js";
import { portOf, startRuntime } from "./helpers.js";

const CONFIG = `
listeners:
  - name: dns
    protocol: dns
    bind: "127.0.0.1:0"
    zones:
      - origin: example.test
        ns: [ns1.example.test]
        records:
          - { name: weighted, type: A, ttl: 0, pool: weighted }
          - { name: random, type: A, ttl: 0, pool: random }
          - { name: stable, type: A, ttl: 0, pool: stable }
          - { name: standby, type: A, ttl: 0, pool: standby, answers: 4 }
log: { level: silent }
pools:
  weighted:
    algorithm: wrr
    backends: [{ address: "192.0.2.1:80", weight: 3 }, { address: "192.0.2.2:80", weight: 1 }]
  random:
    algorithm: wrandom
    backends: [{ address: "192.0.2.1:80", weight: 3 }, { address: "192.0.2.2:80", weight: 1 }]
  stable:
    algorithm: chash
    backends:
      - { address: "192.0.2.11:80" }
      - { address: "192.0.2.12:80" }
      - { address: "192.0.2.13:80" }
  standby:
    backends:
      - { address: "192.0.2.21:80" }
      - { address: "192.0.2.22:80" }
      - { address: "192.0.2.29:80", backup: true }
`;

describe("answers follow the pool's algorithm", () => {
  let runtime: Runtime;
  let port: number;
  let socket: Socket;
  let nextId = 1;
  const waiting = new Map<number, (answer: dnsPacket.DecodedPacket) => void>();

  /** One query over UDP from one socket; resolves with the answer's addresses. */
  const ask = (name: string, subnet?: string): Promise<string[]> => {
    const id = nextId++ & 0xffff;
    const options = subnet
      ? [{ code: 8, family: 1, sourcePrefixLength: 24, scopePrefixLength: 0, ip: subnet }]
      : [];
    const query = dnsPacket.encode({
      type: "query",
      id,
      questions: [{ type: "A", name }],
      additionals: [{ type: "OPT", name: ".", udpPayloadSize: 1232, options } as never],
    });
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => {
        waiting.delete(id);
        reject(new Error(`no answer to ${name}`));
      }, 5000);
      waiting.set(id, (answer) => {
        clearTimeout(timer);
        resolve((answer.answers ?? []).map((a) => String((a as { data: unknown }).data)));
      });
      socket.send(query, port, "127.0.0.1");
    });
  };
  const shares = async (name: string, count: number) => {
    const seen = new Map<string, number>();
    for (let i = 0; i < count; i++) {
      const [first] = await ask(name);
      seen.set(first, (seen.get(first) ?? 0) + 1);
    }
    return seen;
  };

  before(async () => {
    runtime = await startRuntime(CONFIG);
    port = portOf(runtime);
    socket = createSocket("udp4");
    socket.on("message", (message) => {
      const answer = dnsPacket.decode(message);
      waiting.get(answer.id ?? -1)?.(answer);
      waiting.delete(answer.id ?? -1);
    });
    await new Promise<void>((resolve) => socket.bind(0, "127.0.0.1", resolve));
  });
  after(async () => {
    socket?.close();
    await runtime?.stop({ graceful: false });
  });

  it("gives wrr backends their exact shares by weight", async () => {
    const seen = await shares("weighted.example.test", 200);
    assert.deepEqual(Object.fromEntries(seen), { "192.0.2.1": 150, "192.0.2.2": 50 });
  });

  it("gives wrandom backends their shares by weight on average", async () => {
    const seen = await shares("random.example.test", 400);
    const heavy = (seen.get("192.0.2.1") ?? 0) / 400;
    // 3:1 weights: 0.75 expected; 0.6 to 0.9 is more than six standard deviations wide.
    assert.ok(heavy > 0.6 && heavy < 0.9, `share of the weight-3 backend: ${heavy}`);
  });

  it("keeps a client subnet on one chash backend, and moves only a dead backend's clients", async () => {
    const subnets = Array.from({ length: 30 }, (_, i) => `10.${i}.7.0`);
    const first = new Map<string, string>();
    for (const subnet of subnets) {
      const [host] = await ask("stable.example.test", subnet);
      first.set(subnet, host);
      assert.deepEqual(await ask("stable.example.test", subnet), [host], `again for ${subnet}`);
    }
    assert.ok(new Set(first.values()).size >= 2, "clients spread over the backends");
    const pool = runtime.pools.get("stable")!;
    const victim = first.get(subnets[0])!;
    pool.setHealth(`${victim}:80`, "down", "test");
    try {
      for (const subnet of subnets) {
        const [host] = await ask("stable.example.test", subnet);
        if (first.get(subnet) === victim) assert.notEqual(host, victim);
        else assert.equal(host, first.get(subnet), `${subnet} keeps its backend`);
      }
    } finally {
      pool.setHealth(`${victim}:80`, "up", "test");
    }
  });

  it("answers backup backends only while every primary is down", async () => {
    assert.deepEqual((await ask("standby.example.test")).sort(), ["192.0.2.21", "192.0.2.22"]);
    const pool = runtime.pools.get("standby")!;
    pool.setHealth("192.0.2.21:80", "down", "test");
    assert.deepEqual(await ask("standby.example.test"), ["192.0.2.22"]);
    pool.setHealth("192.0.2.22:80", "down", "test");
    try {
      assert.deepEqual(await ask("standby.example.test"), ["192.0.2.29"]);
    } finally {
      pool.setHealth("192.0.2.21:80", "up", "test");
      pool.setHealth("192.0.2.22:80", "up", "test");
    }
  });
});
