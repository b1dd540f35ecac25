/**
 * Geography: the client is the EDNS Client Subnet when the query has one (and the answer's
 * scope says how far it holds), else the resolver's address; each region's pools are tried
 * nearest first, with failover to the next region. A real recursive forwarder (dnsmasq with
 * `--add-subnet`) in front makes answers depend on the end client's address.
 */
import assert from "node:assert/strict";
import { type ChildProcess, execFile, spawn } from "node:child_process";
import { createSocket } from "node:dgram";
import { after, before, describe, it } from "node:test";
import type { Runtime } from "../../src/runtime/runtime.js";
import { requireProgram } from "../support/programs.js";
import { dig, parseDig, portOf, startRuntime } from "./helpers.js";

const CONFIG = `
listeners:
  - name: dns
    protocol: dns
    bind: "127.0.0.1:0"
    regions:
      east: ["127.0.0.2/32", "10.1.0.0/16"]
      west: ["127.0.0.3/32", "10.2.0.0/16", "2001:db8:2::/48"]
    zones:
      - origin: example.test
        ns: [ns1.example.test]
        records:
          - name: www
            type: A
            ttl: 0
            geo:
              east: [east, west]
              west: [west, east]
              default: [east, west]
          - { name: static, type: A, values: ["192.0.2.200"] }
pools:
  east:
    backends: [{ address: "192.0.2.1:80" }]
  west:
    backends: [{ address: "192.0.2.2:80" }]
`;

/** A free UDP port on loopback (for dnsmasq). */
async function freePort(): Promise<number> {
  const socket = createSocket("udp4");
  await new Promise<void>((resolve) => socket.bind(0, "127.0.0.1", resolve));
  const port = socket.address().port;
  await new Promise<void>((resolve) => socket.close(() => resolve()));
  return port;
}

/** dig through dnsmasq at `port`, from source address `source`. */
function digVia(port: number, source: string, name: string): Promise<string[]> {
  return new Promise((resolve, reject) => {
    execFile(
      requireProgram("dig"),
      ["@127.0.0.1", "-p", String(port), "-b", source, "+tries=1", "+time=2", name, "A"],
      { timeout: 10_000 },
      (error, stdout) => {
        if (error && stdout === "") return reject(error);
        resolve(parseDig(stdout).answers.map((a) => a[4]));
      },
    );
  });
}

describe("geo answers by client subnet", () => {
  let runtime: Runtime;
  let port: number;
  before(async () => {
    runtime = await startRuntime(CONFIG);
    port = portOf(runtime);
  });
  after(() => runtime.stop({ graceful: false }));

  it("answers by the ECS subnet, with the region block's length as the scope", async () => {
    const east = await dig(port, ["www.example.test", "A", "+subnet=10.1.2.0/24"]);
    assert.deepEqual(
      east.answers.map((a) => a[4]),
      ["192.0.2.1"],
    );
    assert.match(east.text, /CLIENT-SUBNET: 10\.1\.2\.0\/24\/16/);
    const west = await dig(port, ["www.example.test", "A", "+subnet=10.2.9.0/24"]);
    assert.deepEqual(
      west.answers.map((a) => a[4]),
      ["192.0.2.2"],
    );
    const west6 = await dig(port, ["www.example.test", "A", "+subnet=2001:db8:2:5::/64"]);
    assert.deepEqual(
      west6.answers.map((a) => a[4]),
      ["192.0.2.2"],
    );
    const elsewhere = await dig(port, ["www.example.test", "A", "+subnet=203.0.113.0/24"]);
    assert.deepEqual(
      elsewhere.answers.map((a) => a[4]),
      ["192.0.2.1"],
      "default list",
    );
    assert.match(elsewhere.text, /CLIENT-SUBNET: 203\.0\.113\.0\/24\/24/);
  });

  it("gives scope 0 to answers that do not depend on the client", async () => {
    const r = await dig(port, ["static.example.test", "A", "+subnet=10.1.2.0/24"]);
    assert.match(r.text, /CLIENT-SUBNET: 10\.1\.2\.0\/24\/0/);
  });

  it("uses the resolver's address without ECS", async () => {
    const r = await dig(port, ["www.example.test", "A", "-b", "127.0.0.3"]);
    assert.deepEqual(
      r.answers.map((a) => a[4]),
      ["192.0.2.2"],
    );
  });

  it("fails over to the next region when a region has nothing up", async () => {
    const west = runtime.pools.get("west")!;
    west.setHealth("192.0.2.2:80", "down", "test");
    try {
      const r = await dig(port, ["www.example.test", "A", "+subnet=10.2.9.0/24"]);
      assert.deepEqual(
        r.answers.map((a) => a[4]),
        ["192.0.2.1"],
      );
    } finally {
      west.setHealth("192.0.2.2:80", "up", "test");
    }
  });

  describe("behind dnsmasq with --add-subnet", () => {
    let dnsmasq: ChildProcess;
    let forwarder: number;
    before(async () => {
      // dnsmasq binds UDP and TCP on its port and exits when either is taken: try again then.
      for (let attempt = 0; attempt < 5; attempt++) {
        forwarder = await freePort();
        let exited = false;
        dnsmasq = spawn(
          requireProgram("dnsmasq"),
          [
            "--keep-in-foreground",
            "--no-resolv",
            "--no-hosts",
            "--cache-size=0",
            "--listen-address=127.0.0.1",
            "--bind-interfaces",
            `--port=${forwarder}`,
            `--server=/example.test/127.0.0.1#${port}`,
            "--add-subnet=32,128",
            "--pid-file=",
            "--user=root",
          ],
          { stdio: "ignore" },
        );
        dnsmasq.once("exit", () => {
          exited = true;
        });
        // Ready when it answers.
        for (let i = 0; i < 100 && !exited; i++) {
          const answer = await digVia(forwarder, "127.0.0.1", "static.example.test").catch(
            () => [],
          );
          if (answer.length > 0) return;
          await new Promise((resolve) => setTimeout(resolve, 50));
        }
        dnsmasq.kill();
      }
      throw new Error("dnsmasq did not start");
    });
    after(() => {
      dnsmasq.kill();
    });

    it("answers each end client by its own address", async () => {
      assert.deepEqual(await digVia(forwarder, "127.0.0.2", "www.example.test"), ["192.0.2.1"]);
      assert.deepEqual(await digVia(forwarder, "127.0.0.3", "www.example.test"), ["192.0.2.2"]);
      assert.deepEqual(await digVia(forwarder, "127.0.0.2", "www.example.test"), ["192.0.2.1"]);
    });
  });
});
