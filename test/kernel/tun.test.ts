/**
 * Kernel TUN (LVS-TUN over VXLAN: this kernel has no IPIP): the real servers sit on a LAN of
 * their own behind a router, where DR cannot reach them. The director's netdev ingress rules
 * (DR's, with another way out) send each frame into ballast's VXLAN device, the kernel wraps
 * it in UDP to the real server, which decapsulates it on tun0, holds the VIP on lo and replies
 * to the client through the router, never through the director. Spread (wrr 3:1), the
 * counters that show the path, a killed server, persistence, drain, `ctl list`, and a stop
 * that removes the table and the VXLAN device and nothing else (the steps every mode shares
 * are in lvs-behaviours.ts).
 */
import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import { requireProgram } from "../support/programs.js";
import {
  crashKeepsForwardingAndStopRemovesOnlyBallast,
  ctlListsTheServiceLikeIpvsadm,
  drainLetsEstablishedConnectionsFinish,
  KernelSuite,
  killedServerLeavesTheDispatch,
  persistenceKeepsAClientOnOneServer,
  spreadsNewConnectionsByWeight,
} from "./lvs-behaviours.js";
import { CLIENT, LAB_VNI, linkCounters, VIP } from "./lvs-lab.js";

const asRoot = process.getuid?.() === 0;
const TUNNEL = `bltun${LAB_VNI}`;

describe("kernel TUN", { skip: asRoot ? false : "needs root" }, () => {
  const suite = new KernelSuite("tun", { routed: true });
  before(() => suite.build());
  after(() => suite.cleanup());

  it("spreads new connections 3:1 with wrr to real servers behind a router", () =>
    spreadsNewConnectionsByWeight(suite));

  it("writes DR's rules with the VXLAN device as the way out, and a device per VNI", async () => {
    const { lvs } = suite;
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
    const { lvs } = suite;
    const rs1 = lvs.servers[0];
    const directorBefore = await linkCounters(lvs.director, "eth0");
    const tunnelBefore = await linkCounters(lvs.director, TUNNEL);
    const clientBefore = await linkCounters(lvs.client, "eth0");
    const rsTunnelBefore = await linkCounters(rs1.ns, "tun0");
    // 1 MB answers over keep-alive connections: the replies dwarf the requests.
    await lvs.client.exec(
      requireProgram("wrk"),
      ["-t", "1", "-c", "2", "-d", "2s", "--timeout", "5s", `http://${VIP}/bulk`],
      60_000,
    );
    const director = await linkCounters(lvs.director, "eth0");
    const tunnel = await linkCounters(lvs.director, TUNNEL);
    const client = await linkCounters(lvs.client, "eth0");
    const rsTunnel = await linkCounters(rs1.ns, "tun0");
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

  it("a real server killed mid-run leaves within the check bound; new connections go to the rest", () =>
    killedServerLeavesTheDispatch(suite));

  it("keeps a client on one real server while persistence holds", () =>
    persistenceKeepsAClientOnOneServer(suite));

  it("drain: established connections finish on the drained server, new ones go elsewhere; the SYN's MSS fits the tunnel", () =>
    drainLetsEstablishedConnectionsFinish(suite, async (drained) => {
      // The director clamped the SYN's MSS to the tunnel's MTU (1450) minus 40.
      const sockets = await drained.ns.exec(requireProgram("ss"), [
        ...["-Htin", "state", "established", `( sport = :80 and dst ${CLIENT} )`],
      ]);
      // (1410 less the timestamp option's 12 bytes; unclamped it would be 1448.)
      const mss = Number(/\bmss:(\d+)/.exec(sockets.stdout)?.[1]);
      assert.ok(mss > 0 && mss <= 1410, sockets.stdout);
    }));

  it("ctl list shows the service with Forward Tunnel, like ipvsadm -L -n", () =>
    ctlListsTheServiceLikeIpvsadm(suite, "Tunnel", "FIN_WAIT"));

  it("stop removes exactly ballast's table and VXLAN device; a crash leaves them forwarding", async () => {
    const { lvs } = suite;
    await lvs.director.ip(
      ...["link", "add", "other7", "type", "vxlan", "id", "7", "dstport", "4790"],
    );
    // The second start adopts its own device, left by the crash.
    await crashKeepsForwardingAndStopRemovesOnlyBallast(suite, "table netdev ballast");
    const links = (await lvs.director.ip("-o", "link", "show")).stdout;
    assert.ok(!links.includes(TUNNEL), `${TUNNEL} is still there`);
    assert.ok(links.includes("other7"), "the other VXLAN device went too");
  });

  it("refuses to start on a VXLAN device of its name that it did not make", async () => {
    const { lvs } = suite;
    await lvs.director.ip(
      ...["link", "add", TUNNEL, "type", "vxlan", "id", String(LAB_VNI), "dstport", "4789"],
    );
    try {
      await assert.rejects(
        lvs.startBallast(suite.config(lvs.servers.slice(0, 2))),
        new RegExp(`device ${TUNNEL} exists and is not ballast's`),
      );
    } finally {
      await lvs.director.ip("link", "delete", "dev", TUNNEL);
    }
  });
});
