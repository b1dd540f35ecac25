/**
 * The seeds' layering, end to end on loopback (examples/dns-layered.yaml in small): ballast
 * DNS answers www with a region VIP (127.0.0.2 or 127.0.0.3); each VIP is a ballast tcp
 * listener in front of a ballast http listener in front of real backends. Every backend of
 * region a stops: within TTL + fall × interval DNS answers only region b, and a client that
 * re-resolves before each request gets 200s.
 */
import assert from "node:assert/strict";
import { Resolver } from "node:dns/promises";
import { createServer } from "node:net";
import { after, before, describe, it } from "node:test";
import type { Runtime } from "../../src/runtime/runtime.js";
import { startBackend, type TestBackend } from "../control/helpers.js";
import { dig, portOf, startRuntime } from "./helpers.js";

/** A TCP port free on every one of `hosts`. */
async function portFreeOn(hosts: readonly string[]): Promise<number> {
  for (let attempt = 0; attempt < 20; attempt++) {
    const probe = createServer();
    await new Promise<void>((resolve) => probe.listen(0, hosts[0], resolve));
    const port = (probe.address() as { port: number }).port;
    await new Promise<void>((resolve) => probe.close(() => resolve()));
    const free = await Promise.all(
      hosts.map(
        (host) =>
          new Promise<boolean>((resolve) => {
            const s = createServer();
            s.once("error", () => resolve(false));
            s.listen(port, host, () => s.close(() => resolve(true)));
          }),
      ),
    );
    if (free.every(Boolean)) return port;
  }
  throw new Error("no common free port");
}

const INTERVAL = 200;
const FALL = 2;
const TTL = 1;
/** Generous: the checks go through two ballast layers on a busy machine. */
const CHECK_TIMEOUT = 1000;

describe("layered deployment: DNS → tcp VIPs → http → backends", () => {
  let runtime: Runtime;
  let backends: TestBackend[];
  let dnsPort: number;
  let vipPort: number;

  before(async () => {
    backends = await Promise.all(["a1", "a2", "b1", "b2"].map((name) => startBackend(name)));
    vipPort = await portFreeOn(["127.0.0.2", "127.0.0.3"]);
    const webA = await portFreeOn(["127.0.0.1"]);
    let webB = await portFreeOn(["127.0.0.1"]);
    while (webB === webA) webB = await portFreeOn(["127.0.0.1"]);
    const vipCheck = `{ type: http, path: /, interval: ${INTERVAL}ms, timeout: ${CHECK_TIMEOUT}ms, fall: ${FALL}, rise: 1, jitter: 0, initial_state: down }`;
    runtime = await startRuntime(`
listeners:
  - name: dns
    protocol: dns
    bind: "127.0.0.1:0"
    regions:
      a: ["10.1.0.0/16"]
      b: ["10.2.0.0/16"]
    zones:
      - origin: example.test
        ns: [ns1.example.test]
        records:
          - { name: www, type: A, ttl: ${TTL}, geo: { a: [vip-a, vip-b], b: [vip-b, vip-a], default: [vip-a, vip-b] }, when_all_down: servfail }
  - { name: vip-a, protocol: tcp, bind: "127.0.0.2:${vipPort}", pool: l7-a }
  - { name: vip-b, protocol: tcp, bind: "127.0.0.3:${vipPort}", pool: l7-b }
  - { name: web-a, protocol: http, bind: "127.0.0.1:${webA}", default_pool: app-a, access_log: false }
  - { name: web-b, protocol: http, bind: "127.0.0.1:${webB}", default_pool: app-b, access_log: false }
pools:
  vip-a: { health_check: ${vipCheck}, backends: [{ address: "127.0.0.2:${vipPort}" }] }
  vip-b: { health_check: ${vipCheck}, backends: [{ address: "127.0.0.3:${vipPort}" }] }
  l7-a: { backends: [{ address: "127.0.0.1:${webA}" }] }
  l7-b: { backends: [{ address: "127.0.0.1:${webB}" }] }
  app-a: { backends: [{ address: "${backends[0].address}" }, { address: "${backends[1].address}" }] }
  app-b: { backends: [{ address: "${backends[2].address}" }, { address: "${backends[3].address}" }] }
log: { level: silent }
`);
    dnsPort = portOf(runtime);
    // Both VIPs pass their first check through every layer.
    for (let i = 0; i < 300; i++) {
      const up = ["vip-a", "vip-b"].every((p) => runtime.pools.get(p)!.backends[0].health === "up");
      if (up) break;
      await new Promise((resolve) => setTimeout(resolve, 20));
    }
  });
  after(async () => {
    await runtime.stop({ graceful: false });
    await Promise.all(backends.map((b) => b.close().catch(() => undefined)));
  });

  /** Re-resolves www with a real stub resolver, then asks the first address over HTTP. */
  async function resolveAndGet(): Promise<{ address: string; status: number }> {
    const resolver = new Resolver({ timeout: 1000, tries: 3 });
    resolver.setServers([`127.0.0.1:${dnsPort}`]);
    const [address] = await resolver.resolve4("www.example.test");
    const response = await fetch(`http://${address}:${vipPort}/`);
    await response.text();
    return { address, status: response.status };
  }

  it("answers each region's VIP while both are up", async () => {
    assert.deepEqual(
      (await dig(dnsPort, ["www.example.test", "A", "+subnet=10.1.0.0/24"])).answers.map(
        (a) => a[4],
      ),
      ["127.0.0.2"],
    );
    assert.deepEqual(
      (await dig(dnsPort, ["www.example.test", "A", "+subnet=10.2.0.0/24"])).answers.map(
        (a) => a[4],
      ),
      ["127.0.0.3"],
    );
    const first = await resolveAndGet();
    assert.deepEqual(first, { address: "127.0.0.2", status: 200 });
  });

  it("moves every client to region b within TTL + fall × interval when region a's backends stop", async () => {
    await backends[0].close();
    await backends[1].close();
    const stoppedAt = performance.now();
    const bound = TTL * 1000 + FALL * INTERVAL + CHECK_TIMEOUT;
    const late: Array<{ address: string; status: number }> = [];
    for (let i = 0; i < 500; i++) {
      // Before the bound region a may still be answered (and give 502) or be in flux.
      const result = await resolveAndGet().catch((error: Error) => ({
        address: error.message,
        status: 0,
      }));
      const elapsed = performance.now() - stoppedAt;
      if (elapsed > bound) late.push(result);
      if (elapsed > bound + 1000 && late.length >= 5) break;
      await new Promise((resolve) => setTimeout(resolve, 20));
    }
    assert.ok(late.length >= 5, `requests after the bound: ${late.length}`);
    for (const result of late) assert.deepEqual(result, { address: "127.0.0.3", status: 200 });
    const regionA = await dig(dnsPort, ["www.example.test", "A", "+subnet=10.1.0.0/24"]);
    assert.deepEqual(
      regionA.answers.map((a) => a[4]),
      ["127.0.0.3"],
      "region a fails over to b",
    );
  });
});
