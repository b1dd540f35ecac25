/**
 * A kernel listener's config is refused, with the path and what would be valid, when
 * nftables could not carry it out: an algorithm it cannot schedule, a real server that is not
 * an IPv4 address, a VIP that is no address, DR without its interface.
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

  it("refuses workers > 1: one process writes the rules", () => {
    const message = problems(`workers: 2\n${config("    bind: 10.0.0.100:80", servers)}`);
    assert.match(message, /workers.*kernel listener "vip" needs workers: 1/);
  });
});
