/** Mistakes in the `ha:` section name their path and what would be valid; `ballast check` exits 1. */
import assert from "node:assert/strict";
import { after, describe, it } from "node:test";
import { runCli, tempConfigDir } from "../config/cli.js";

const dir = tempConfigDir();
after(() => dir.cleanup());

const BASE: Record<string, string> = {
  interface: "eth0",
  virtual_router_id: "42",
  priority: "100",
  vips: '["10.0.0.100/24"]',
};

/** Runs `ballast check` on a config whose ha section has `ha` over BASE; returns stderr. */
function check(name: string, ha: Record<string, string>, extra: string[] = []): string {
  const text = [
    "listeners:",
    '  - { name: vip, protocol: tcp, bind: "10.0.0.100:80", pool: web }',
    "pools:",
    "  web:",
    '    backends: [{ address: "10.0.1.1:80" }]',
    ...extra,
    "ha:",
    ...Object.entries({ ...BASE, ...ha }).map(([key, value]) => `  ${key}: ${value}`),
    "",
  ].join("\n");
  const result = runCli(["check", "--config", dir.write(name, text)]);
  assert.equal(result.status, 1, `accepted: ${result.stdout}`);
  return result.stderr;
}

describe("ha config mistakes", () => {
  it("a tracked pool that does not exist", () => {
    assert.match(
      check("pools.yaml", { pools: "[api]" }),
      /ha\.pools\[0\]: unknown pool "api"; defined pools: web/,
    );
  });

  it("more than one worker", () => {
    assert.match(check("workers.yaml", {}, ["workers: 2"]), /ha: ha needs workers: 1/);
  });

  it("a staleness limit that a heartbeat could miss", () => {
    assert.match(
      check("stale.yaml", { heartbeat: "1s", stale_after: "1500ms" }),
      /ha\.stale_after: stale_after \(1500 ms\) must be at least twice the heartbeat/,
    );
  });

  it("a health file path that would need quoting in keepalived.conf or a shell", () => {
    assert.match(
      check("path.yaml", { health_file: `"/run/x'; reboot #"` }),
      /ha\.health_file: .*absolute path of letters, digits/,
    );
  });

  it("a priority keepalived cannot use, and a VIP that is not an address", () => {
    assert.match(
      check("priority.yaml", { priority: "255" }),
      /ha\.priority: too large; expected a whole number from 1 to 254/,
    );
    assert.match(
      check("vip.yaml", { vips: '["10.0.0.300/24"]' }),
      /ha\.vips\[0\]: expected an address/,
    );
  });

  it("VIPs of both address families in one instance", () => {
    assert.match(
      check("mixed.yaml", { vips: '["10.0.0.100/24", "fd00::100/64"]' }),
      /ha\.vips: vips mixes IPv4 and IPv6/,
    );
  });
});
