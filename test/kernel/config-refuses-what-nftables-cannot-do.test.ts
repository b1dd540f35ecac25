/**
 * A kernel listener's config is refused, with the path and what would be valid, when
 * nftables could not carry it out: an algorithm it cannot schedule, a real server that is not
 * an IPv4 address, a VIP that is no address, DR or TUN without its interface, and tunnel
 * settings that no VXLAN device could carry.
 */
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { parseConfigText } from "../../src/config/load.js";

function config(listener: string, pool: string): string {
  return `listeners:
  - name: vip
    protocol: kernel
    pool: web
${listener}
pools:
  web:
${pool}
`;
}

function problems(text: string): string {
  try {
    parseConfigText(text, "kernel.yaml");
    return "";
  } catch (error) {
    return (error as Error).message;
  }
}

const servers = "    backends:\n      - address: 10.0.0.11:80\n";

describe("kernel listener config", () => {
  it("accepts a NAT service over IPv4 real servers with wrr", () => {
    assert.equal(problems(config("    bind: 10.0.0.100:80", `    algorithm: wrr\n${servers}`)), "");
  });

  it("refuses an algorithm that nftables cannot schedule, naming those it can", () => {
    const message = problems(
      config("    bind: 10.0.0.100:80", `    algorithm: maglev\n${servers}`),
    );
    assert.match(
      message,
      /pools\.web\.algorithm.*nftables schedules: use one of rr, wrr, .*sh, dh/,
    );
  });

  it("refuses a real server that is not an IPv4 address", () => {
    const message = problems(
      config("    bind: 10.0.0.100:80", "    backends:\n      - address: backend.internal:80\n"),
    );
    assert.match(
      message,
      /pools\.web\.backends\[0\]\.address.*"backend\.internal" is not an IPv4 address/,
    );
  });

  it("refuses a VIP of 0.0.0.0 (a port alone)", () => {
    assert.match(problems(config("    bind: 80", servers)), /listeners\[0\]\.bind.*VIP/);
  });

  it("refuses DR without the interface the VIP's packets arrive on", () => {
    const message = problems(config("    bind: 10.0.0.100:80\n    mode: dr", servers));
    assert.match(message, /listeners\[0\]\.interface.*mode dr needs the interface/);
  });

  it("accepts a TUN service with its interface and tunnel", () => {
    const listener =
      "    bind: 10.0.0.100:80\n    mode: tun\n    interface: eth0\n    tunnel: { vni: 42 }";
    assert.equal(problems(config(listener, servers)), "");
  });

  it("refuses TUN without the interface the VIP's packets arrive on", () => {
    const message = problems(config("    bind: 10.0.0.100:80\n    mode: tun", servers));
    assert.match(message, /listeners\[0\]\.interface.*mode tun needs the interface/);
  });

  it("refuses TUN whose interface is one of ballast's own tunnel devices", () => {
    const message = problems(
      config("    bind: 10.0.0.100:80\n    mode: tun\n    interface: bltun1", servers),
    );
    assert.match(message, /listeners\[0\]\.interface.*"bltun1" is a tunnel device of ballast/);
  });

  it("refuses tunnel settings on a service that is not TUN", () => {
    const message = problems(config("    bind: 10.0.0.100:80\n    tunnel: { vni: 42 }", servers));
    assert.match(message, /listeners\[0\]\.tunnel.*tunnel applies to mode tun only/);
  });

  it("refuses a VNI outside VXLAN's 24 bits", () => {
    const message = problems(
      config(
        "    bind: 10.0.0.100:80\n    mode: tun\n    interface: eth0\n    tunnel: { vni: 16777216 }",
        servers,
      ),
    );
    assert.match(message, /listeners\[0\]\.tunnel\.vni/);
  });

  it("refuses two TUN services on one VNI with different ports (one device per VNI)", () => {
    const text = `listeners:
  - { name: a, protocol: kernel, pool: web, bind: "10.0.0.100:80", mode: tun, interface: eth0, tunnel: { vni: 5 } }
  - { name: b, protocol: kernel, pool: web, bind: "10.0.0.101:80", mode: tun, interface: eth0, tunnel: { vni: 5, port: 8472 } }
pools:
  web:
${servers}`;
    assert.match(
      problems(text),
      /listeners\[1\]\.tunnel.*"a" and "b" share VXLAN VNI 5 \(one device\) but not its port and mtu/,
    );
  });

  it("refuses workers > 1: one process writes the rules", () => {
    const message = problems(`workers: 2\n${config("    bind: 10.0.0.100:80", servers)}`);
    assert.match(message, /workers.*kernel listener "vip" needs workers: 1/);
  });
});
