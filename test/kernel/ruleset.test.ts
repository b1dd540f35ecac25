/**
 * The nftables script of a transaction: what it flushes, deletes and writes;
 * the lab tests (nat, dr, tun) apply them to a real kernel.
 */
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { parseConntrackLine } from "../../src/kernel/conntrack.js";
import { planDispatch, type RealServer } from "../../src/kernel/dispatch.js";
import { renderTransaction, type ServiceRules, serviceKey } from "../../src/kernel/ruleset.js";
import { tunnelMac } from "../../src/kernel/tunnels.js";

const servers: RealServer[] = [
  { id: "rs1", address: "10.0.0.11", port: 80, weight: 3 },
  { id: "rs2", address: "10.0.0.12", port: 8080, weight: 1 },
];

function nat(overrides: Partial<ServiceRules> = {}): ServiceRules {
  return {
    key: serviceKey("web"),
    mode: "nat",
    transport: "tcp",
    vip: "10.0.0.100",
    port: 80,
    dispatch: planDispatch("wrr", servers),
    servers,
    persistenceSeconds: 0,
    seed: 1,
    masquerade: true,
    flowTimeoutSeconds: 300,
    ...overrides,
  };
}

describe("kernel ruleset", () => {
  it("NAT: a new connection to the VIP jumps to the service, numgen walks the wrr cycle, each server DNATs", () => {
    const script = renderTransaction([nat()], {});
    const key = serviceKey("web");
    assert.match(script, /^add table ip ballast$/m);
    assert.match(
      script,
      new RegExp(`ip daddr 10\\.0\\.0\\.100 tcp dport 80 ct state new jump svc_${key}`),
    );
    assert.match(
      script,
      /numgen inc mod 4 vmap \{ 0-2 : goto rs_\w+_0a00000b0050, 3 : goto rs_\w+_0a00000c1f90 \}/,
    );
    assert.match(script, /dnat ip to 10\.0\.0\.12:8080/);
    assert.match(script, /ct original proto-dst 80 masquerade/);
    assert.doesNotMatch(script, /netdev/);
  });

  it("a service without live servers drops new connections instead of delivering the VIP locally", () => {
    const script = renderTransaction([nat({ dispatch: { kind: "none" }, servers: [] })], {});
    assert.match(script, /add rule ip ballast svc_\w+ drop/);
    assert.doesNotMatch(script, /vmap/);
  });

  it("persistence: one set per server, looked up before dispatch and refreshed on each new connection", () => {
    const script = renderTransaction([nat({ persistenceSeconds: 300 })], {});
    assert.match(
      script,
      /add set ip ballast p_\w+_0a00000b0050_300 \{ type ipv4_addr; size \d+; flags dynamic,timeout; timeout 300s; \}/,
    );
    assert.match(script, /ip saddr @p_\w+_0a00000b0050_300 goto rs_/);
    assert.match(script, /update @p_\w+_0a00000b0050_300 \{ ip saddr \}/);
  });

  it("rewrites over what exists: flushes every chain, deletes what is gone, keeps the sets in use", () => {
    const key = serviceKey("web");
    const script = renderTransaction([nat({ persistenceSeconds: 300 })], {
      ip: {
        chains: ["prerouting", "postrouting", `svc_${key}`, "svc_old_00000000"],
        sets: [`p_${key}_0a00000b0050_300`, "p_old_00000000_0a00000d0050_60"],
        counters: ["n_old_00000000"],
      },
    });
    assert.match(
      script,
      /flush chain ip ballast svc_old_00000000\ndelete chain ip ballast svc_old_00000000/,
    );
    assert.match(script, /delete set ip ballast p_old_00000000_0a00000d0050_60/);
    assert.doesNotMatch(script, new RegExp(`delete set ip ballast p_${key}_0a00000b0050_300`));
    assert.match(script, /delete counter ip ballast n_old_00000000/);
    // every flush comes before any delete: a chain can go only once nothing jumps to it
    assert.ok(script.lastIndexOf("flush chain") < script.indexOf("delete chain"));
  });

  it("the last service gone: the whole table is deleted, and only ballast's", () => {
    const script = renderTransaction([], { ip: { chains: [], sets: [], counters: [] } });
    assert.equal(script, "delete table ip ballast\n");
  });

  it("DR: ingress on the device, each server's flow set first, the MACs rewritten, out by fwd", () => {
    const macs = new Map([
      ["rs1", "02:00:00:00:00:11"],
      ["rs2", "02:00:00:00:00:12"],
    ]);
    const script = renderTransaction(
      [
        nat({
          mode: "dr",
          device: "eth0",
          deviceMac: "02:00:00:00:00:01",
          macs,
          dispatch: planDispatch("sh", servers),
          flowServers: servers,
        }),
      ],
      {},
    );
    assert.match(script, /add table netdev ballast/);
    assert.match(script, /type filter hook ingress device "eth0" priority -500/);
    assert.match(
      script,
      /add set netdev ballast f_\w+_0a00000b0050_300 \{ type ipv4_addr \. inet_service; size \d+; flags dynamic,timeout; timeout 300s; \}/,
    );
    assert.match(
      script,
      /ip saddr \. tcp sport @f_\w+_0a00000c1f90_300 update @f_\w+_0a00000c1f90_300 \{ ip saddr \. tcp sport \} ether daddr set 02:00:00:00:00:12 goto out_/,
    );
    // a flow joins its server's set when it is scheduled
    assert.match(
      script,
      /counter name n_\w+ update @f_\w+_0a00000b0050_300 \{ ip saddr \. tcp sport \} ether daddr set 02:00:00:00:00:11 goto out_/,
    );
    // the client's FIN or RST moves the flow to the closing set, which is looked up after
    // every open flow (a SYN reusing a closing flow's port is scheduled anew) and forwards
    assert.match(
      script,
      /add set netdev ballast c_\w+_0a00000b0050 \{ type ipv4_addr \. inet_service; size \d+; flags dynamic,timeout; timeout 120s; \}/,
    );
    assert.match(
      script,
      /tcp flags & \(fin \| rst\) != 0 ip saddr \. tcp sport @f_\w+_0a00000b0050_300 delete @f_\w+_0a00000b0050_300 \{ ip saddr \. tcp sport \} add @c_\w+_0a00000b0050 \{ ip saddr \. tcp sport \} ether daddr set 02:00:00:00:00:11 goto out_/,
    );
    const closingLookup = script.indexOf("tcp flags & syn == 0");
    assert.ok(closingLookup > script.lastIndexOf("tcp sport @f_"), "after every open flow");
    assert.ok(closingLookup < script.indexOf("jhash"));
    // established flows are looked up before any new scheduling
    assert.ok(script.indexOf("@f_") < script.indexOf("jhash"));
    assert.match(script, /jhash ip saddr mod 256 seed 0x1 vmap/);
    assert.match(script, /ether saddr set 02:00:00:00:00:01 fwd to "eth0"/);
    assert.doesNotMatch(script, /table ip/);
  });

  it("TUN: DR's ingress rules, out into the VXLAN device from its MAC, SYNs clamped to the tunnel's MTU", () => {
    const macs = new Map(servers.map((server) => [server.id, tunnelMac(server.address)]));
    const tunnel = { device: "bltun42", vni: 42, port: 4789, mtu: 1450, mac: "02:00:00:00:00:42" };
    const script = renderTransaction(
      [nat({ mode: "tun", device: "eth0", macs, tunnel, flowServers: servers })],
      {},
    );
    assert.match(script, /type filter hook ingress device "eth0" priority -500/);
    assert.match(
      script,
      /counter name n_\w+ update @f_\w+_0a00000b0050_300 \{ ip saddr \. tcp sport \} ether daddr set 02:00:0a:00:00:0b goto out_/,
    );
    assert.match(
      script,
      /out_\w+ tcp flags syn tcp option maxseg size > 1410 tcp option maxseg size set 1410\n.*out_\w+ ether saddr set 02:00:00:00:00:42 fwd to "bltun42"/,
    );
    assert.doesNotMatch(script, /fwd to "eth0"/);
    assert.doesNotMatch(script, /table ip/);
    // UDP has no MSS to clamp.
    const udp = renderTransaction(
      [nat({ mode: "tun", transport: "udp", device: "eth0", macs, tunnel, flowServers: servers })],
      {},
    );
    assert.doesNotMatch(udp, /maxseg/);
  });

  it("flow, closing and persistence sets hold far more than nftables' default 65535 elements, so a busy service's new flows are never refused by a full set", () => {
    const macs = new Map([
      ["rs1", "02:00:00:00:00:11"],
      ["rs2", "02:00:00:00:00:12"],
    ]);
    const dr = nat({
      mode: "dr",
      device: "eth0",
      deviceMac: "02:00:00:00:00:01",
      macs,
      flowServers: servers,
      persistenceSeconds: 300,
    });
    const script = renderTransaction([dr, nat({ persistenceSeconds: 300 })], {});
    const sizes = [...script.matchAll(/^add set .* size (\d+);/gm)].map((m) => Number(m[1]));
    // two persistence sets per family, two flow sets and two closing sets (tcp)
    assert.equal(sizes.length, 8);
    // 5 minutes of flows at 3000 new connections/s
    for (const size of sizes) assert.ok(size >= 300 * 3000, `set size ${size}`);
  });

  it("service keys are safe nftables names, distinct for names that clean up alike", () => {
    assert.match(serviceKey("web vip/1"), /^web_vip_1_[0-9a-f]{8}$/);
    assert.notEqual(serviceKey("a-b"), serviceKey("a_b"));
  });

  it("parses a conntrack line: the original direction is the client and VIP, the reply's source the real server", () => {
    const line =
      "ipv4     2 tcp      6 117 TIME_WAIT src=10.77.0.10 dst=10.77.0.100 sport=40000 dport=80 src=10.77.0.11 dst=10.77.0.2 sport=80 dport=40000 [ASSURED] mark=0 zone=0 use=2";
    assert.deepEqual(parseConntrackLine(line), {
      transport: "tcp",
      state: "TIME_WAIT",
      expiresSeconds: 117,
      client: "10.77.0.10",
      clientPort: 40000,
      vip: "10.77.0.100",
      vipPort: 80,
      server: "10.77.0.11",
      serverPort: 80,
    });
    const udp = parseConntrackLine(
      "udp      17 29 src=10.0.0.1 dst=10.0.0.100 sport=5000 dport=53 src=10.0.0.11 dst=10.0.0.1 sport=53 dport=5000 mark=0 use=1",
    );
    assert.equal(udp?.state, "");
    assert.equal(udp?.server, "10.0.0.11");
    assert.equal(
      parseConntrackLine("ipv4 2 icmp 1 29 src=1.1.1.1 dst=2.2.2.2 type=8 code=0 id=1"),
      undefined,
    );
  });
});
