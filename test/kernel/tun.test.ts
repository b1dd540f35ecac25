/**
 * Kernel TUN (LVS-TUN over VXLAN: this kernel has no IPIP): the real servers sit on a LAN of
 * their own behind a router, where DR cannot reach them. The director's netdev ingress rules
 * (DR's, with another way out) send each frame into ballast's VXLAN device, the kernel wraps
 * it in UDP to the real server, which decapsulates it on tun0, holds the VIP on lo and replies
 * to the client through the router, never through the director. Spread (wrr 3:1), the
 * counters that show the path, a killed server, persistence, drain, `ctl list`, and a stop
 * that removes the table and the VXLAN device and nothing else.
 */
import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import { setTimeout as sleep } from "node:timers/promises";
import type { Daemon } from "../support/daemon.js";
import { type Namespace, spawnIn } from "../support/netns.js";
import { CLIENT_SCRIPT } from "../support/netns-client.js";
import { requireProgram } from "../support/programs.js";
import { waitFor } from "../support/wait.js";
import {
  buildLvsLab,
  CLIENT,
  dispatchesTo,
  kernelConfig,
  LAB_VNI,
  type LabServer,
  type LvsLab,
  serverHex,
  VIP,
} from "./lvs-lab.js";

const asRoot = process.getuid?.() === 0;
const TUNNEL = `bltun${LAB_VNI}`;

/** A device's byte and packet counters, as `ip -s link` shows them. */
async function counters(ns: Namespace, device: string) {
  const [link] = JSON.parse((await ns.ip("-s", "-j", "link", "show", "dev", device)).stdout) as {
    stats64: { rx: { bytes: number; packets: number }; tx: { bytes: number; packets: number } };
  }[];
  return link.stats64;
}

describe("kernel TUN", { skip: asRoot ? false : "needs root" }, () => {
  let lvs: LvsLab;
  let ballast: Daemon | undefined;
  before(async () => {
    lvs = await buildLvsLab(3, { routed: true });
  });
  after(async () => {
    await ballast?.stop();
    await lvs?.cleanup();
  });

  /** Starts ballast on `yaml`, then waits until the checks have put `servers` in the dispatch. */
  async function start(yaml: string, servers: readonly LabServer[]): Promise<void> {
    await ballast?.stop();
    ballast = await lvs.startBallast(yaml);
    for (const server of servers) {
      await waitFor(`${server.name} in the dispatch`, () => dispatchesTo(lvs, server));
    }
  }

  it("spreads new connections 3:1 with wrr to real servers behind a router", async () => {
    await start(
      kernelConfig(lvs.servers.slice(0, 2), { mode: "tun", weights: [3, 1] }),
      lvs.servers.slice(0, 2),
    );
    const result = await lvs.burst(2000);
    assert.equal(result.failed, 0);
    const share = (result.servers.rs1 ?? 0) / 2000;
    assert.ok(
      Math.abs(share - 0.75) < 0.02,
      `rs1 got ${share} of ${JSON.stringify(result.servers)}`,
    );
  });

  it("writes DR's rules with the VXLAN device as the way out, and a device per VNI", async () => {
    const ruleset = await lvs.ruleset();
    const ours = ruleset.slice(ruleset.indexOf("table netdev ballast"));
    assert.ok(ours.includes('type filter hook ingress device "eth0"'));
    assert.ok(ours.includes(`fwd to "${TUNNEL}"`), ours);
    assert.match(ours, /tcp option maxseg size set 1410/);
    // The tunnel MAC of rs1 (10.78.0.11) leads to rs1's own address.
    const fdb = await lvs.director.exec(requireProgram("bridge"), ["fdb", "show", "dev", TUNNEL]);
    assert.match(fdb.stdout, /02:00:0a:4e:00:0b dst 10\.78\.0\.11 self permanent/);
    const link = await lvs.director.ip("-d", "link", "show", "dev", TUNNEL);
    assert.match(link.stdout, new RegExp(`vxlan id ${LAB_VNI} .*dstport 4789`));
  });

  it("packets reach the real servers encapsulated and the replies bypass the director", async () => {
    const rs1 = lvs.servers[0];
    const directorBefore = await counters(lvs.director, "eth0");
    const tunnelBefore = await counters(lvs.director, TUNNEL);
    const clientBefore = await counters(lvs.client, "eth0");
    const rsTunnelBefore = await counters(rs1.ns, "tun0");
    // 1 MB answers over keep-alive connections: the replies dwarf the requests.
    await lvs.client.exec(
      requireProgram("wrk"),
      ["-t", "1", "-c", "2", "-d", "2s", "--timeout", "5s", `http://${VIP}/bulk`],
      60_000,
    );
    const director = await counters(lvs.director, "eth0");
    const tunnel = await counters(lvs.director, TUNNEL);
    const client = await counters(lvs.client, "eth0");
    const rsTunnel = await counters(rs1.ns, "tun0");
    const received = client.rx.bytes - clientBefore.rx.bytes;
    const directorSent = director.tx.bytes - directorBefore.tx.bytes;
    const directorReceived = director.rx.bytes - directorBefore.rx.bytes;
    console.log(
      `client received ${received} bytes; the director received ${directorReceived} and sent ${directorSent}; its tunnel sent ${tunnel.tx.packets - tunnelBefore.tx.packets} packets, rs1's tun0 received ${rsTunnel.rx.packets - rsTunnelBefore.rx.packets}`,
    );
    assert.ok(received > 4_000_000, `the client received only ${received} bytes`);
    // The director carries only the client's half (ACKs and requests, encapsulated).
    assert.ok(directorSent < received / 10, `the director sent ${directorSent} bytes`);
    assert.ok(directorReceived < received / 10, `the director received ${directorReceived} bytes`);
    assert.ok(tunnel.tx.packets > tunnelBefore.tx.packets, "nothing went into the tunnel");
    assert.ok(rsTunnel.rx.packets > rsTunnelBefore.rx.packets, "rs1's tun0 received nothing");
    // rs1 answers by its own routes (eth0 to the router), not back into the tunnel.
    assert.ok(rsTunnel.tx.packets - rsTunnelBefore.tx.packets < 10);
  });

  it("a real server killed mid-run leaves within the check bound; new connections go to the rest", async () => {
    await start(kernelConfig(lvs.servers, { mode: "tun", algorithm: "rr" }), lvs.servers);
    const running = lvs.burstFor(8000);
    const before = await lvs.dispatched();
    await waitFor(
      "the load to be under way",
      async () => (await lvs.dispatched()) > before + 100,
      20_000,
      50,
    );
    await waitFor("rs3 in the dispatch before the kill", () => dispatchesTo(lvs, lvs.servers[2]));
    await lvs.servers[2].nginx.stop();
    const killedAt = Date.now();
    // The check bound is about 0.5 s (every 200 ms, fall 2); 10 s leaves room for a loaded machine.
    await waitFor(
      "rs3 out of the ruleset",
      async () => !(await lvs.ruleset()).includes(serverHex(lvs.servers[2])),
      10_000,
      100,
    );
    const removedAfterMs = Date.now() - killedAt;
    const during = await running;
    console.log(
      `killed rs3 mid-run: out of the ruleset after ${removedAfterMs} ms; ${during.failed} failed connections, the last at ${during.lastFailureMs} ms of ${during.elapsedMs}`,
    );
    assert.ok((during.servers.rs1 ?? 0) > 0 && (during.servers.rs2 ?? 0) > 0);
    const after = await lvs.burst(300);
    assert.equal(after.failed, 0, JSON.stringify(after));
    assert.deepEqual(Object.keys(after.servers).sort(), ["rs1", "rs2"]);
    lvs.servers[2].nginx = await lvs.lab.startNginxIn(lvs.servers[2].ns, {
      body: "rs3",
      files: { bulk: 1 << 20 },
    });
  });

  it("keeps a client on one real server while persistence holds", async () => {
    await start(
      kernelConfig(lvs.servers, { mode: "tun", algorithm: "rr", persistence: "60s" }),
      lvs.servers,
    );
    const result = await lvs.burst(60);
    assert.equal(result.failed, 0);
    assert.equal(Object.keys(result.servers).length, 1, JSON.stringify(result.servers));
  });

  it("drain: established connections finish on the drained server, new ones go elsewhere; the SYN's MSS fits the tunnel", async () => {
    await start(
      kernelConfig(lvs.servers.slice(0, 2), { mode: "tun", algorithm: "rr" }),
      lvs.servers.slice(0, 2),
    );
    const holder = spawnIn(lvs.client, process.execPath, [
      ...[CLIENT_SCRIPT, "hold", "--host", VIP, "--port", "80"],
    ]);
    let output = "";
    holder.stdout.on("data", (chunk) => {
      output += chunk;
    });
    const answers = () => output.split("\n").filter((line) => line.includes("server"));
    try {
      await waitFor("the held connection's first answer", () => answers().length >= 1, 10_000);
      const held = (JSON.parse(answers()[0]) as { server: string }).server;
      await lvs.ctl("drain", "web", held);
      const drained = lvs.servers.find((server) => server.name === held);
      assert.ok(drained, `no lab server named ${held}`);
      // The director clamped the SYN's MSS to the tunnel's MTU (1450) minus 40.
      const sockets = await drained.ns.exec(requireProgram("ss"), [
        ...["-Htin", "state", "established", `( sport = :80 and dst ${CLIENT} )`],
      ]);
      // (1410 less the timestamp option's 12 bytes; unclamped it would be 1448.)
      const mss = Number(/\bmss:(\d+)/.exec(sockets.stdout)?.[1]);
      assert.ok(mss > 0 && mss <= 1410, sockets.stdout);
      await waitFor("the drained server out of the dispatch", async () => {
        return !(await dispatchesTo(lvs, drained));
      });
      const result = await lvs.burst(40);
      assert.equal(result.servers[held], undefined, JSON.stringify(result.servers));
      holder.kill("SIGUSR1");
      await waitFor("a second answer on the held connection", () => answers().length >= 2, 10_000);
      assert.equal((JSON.parse(answers()[1]) as { server: string }).server, held);
    } finally {
      holder.kill("SIGTERM");
    }
  });

  it("ctl list shows the service with Forward Tunnel, like ipvsadm -L -n", async () => {
    await start(kernelConfig(lvs.servers.slice(0, 2), { mode: "tun", algorithm: "wlc" }), []);
    await lvs.burst(20);
    await sleep(1200);
    const list = await lvs.ctl("list");
    assert.match(list, new RegExp(`TCP  ${VIP.replaceAll(".", "\\.")}:80 wlc`));
    assert.match(list, /-> 10\.78\.0\.11:80\s+Tunnel\s+\d+\s+\d+\s+\d+/);
    assert.match(await lvs.ctl("connections"), /FLOW/);
  });

  it("stop removes exactly ballast's table and VXLAN device; a crash leaves them forwarding", async () => {
    const nft = requireProgram("nft");
    await lvs.director.exec(nft, ["add", "table", "inet", "other"]);
    await lvs.director.ip(
      ...["link", "add", "other7", "type", "vxlan", "id", "7", "dstport", "4790"],
    );
    const yaml = kernelConfig(lvs.servers.slice(0, 2), { mode: "tun" });
    await start(yaml, lvs.servers.slice(0, 2));
    ballast?.process.kill("SIGKILL");
    await sleep(200);
    assert.ok((await lvs.ruleset()).includes("table netdev ballast"));
    assert.equal((await lvs.burst(20)).failed, 0);
    // The next start adopts its own device, left by the crash.
    await start(yaml, lvs.servers.slice(0, 2));
    assert.equal((await lvs.burst(20)).failed, 0);
    await ballast?.stop();
    ballast = undefined;
    const ruleset = await lvs.ruleset();
    assert.ok(!ruleset.includes("table netdev ballast"), "table netdev ballast is still there");
    assert.ok(ruleset.includes("table inet other"));
    const links = (await lvs.director.ip("-o", "link", "show")).stdout;
    assert.ok(!links.includes(TUNNEL), `${TUNNEL} is still there`);
    assert.ok(links.includes("other7"), "the other VXLAN device went too");
  });

  it("refuses to start on a VXLAN device of its name that it did not make", async () => {
    await lvs.director.ip(
      ...["link", "add", TUNNEL, "type", "vxlan", "id", String(LAB_VNI), "dstport", "4789"],
    );
    try {
      await assert.rejects(
        lvs.startBallast(kernelConfig(lvs.servers.slice(0, 2), { mode: "tun" })),
        new RegExp(`device ${TUNNEL} exists and is not ballast's`),
      );
    } finally {
      await lvs.director.ip("link", "delete", "dev", TUNNEL);
    }
  });
});
