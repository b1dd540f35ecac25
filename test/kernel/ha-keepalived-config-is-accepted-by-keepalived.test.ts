/**
 * `ballast ha keepalived-config` prints a keepalived.conf that Debian's keepalived accepts
 * (`keepalived --config-test`), carrying the `ha:` section: instance, VIPs, priority, unicast
 * peers, the track file with its penalty, the staleness script and the notify command. Its
 * track script line, run by a shell as keepalived runs it, passes on a fresh health file and
 * fails on a stale or missing one.
 */
import assert from "node:assert/strict";
import { utimesSync, writeFileSync } from "node:fs";
import { networkInterfaces } from "node:os";
import { join } from "node:path";
import { after, describe, it } from "node:test";
import { runCli, tempConfigDir } from "../config/cli.js";
import { run } from "../support/daemon.js";
import { requireProgram } from "../support/programs.js";

const dir = tempConfigDir();
after(() => dir.cleanup());

function config(ha: string[]): string {
  return [
    "listeners:",
    '  - { name: vip, protocol: tcp, bind: "10.0.0.100:80", pool: web }',
    "pools:",
    "  web:",
    '    backends: [{ address: "10.0.1.1:80" }]',
    ...(ha.length === 0 ? [] : ["ha:", ...ha.map((line) => `  ${line}`)]),
    "",
  ].join("\n");
}

/**
 * keepalived's config test refuses interfaces the host lacks, so the config names one this
 * host has (any but loopback).
 */
const IFACE = Object.entries(networkInterfaces()).find(([, addresses]) =>
  addresses?.some((address) => !address.internal),
)?.[0];

const haSection = (healthFile: string) => [
  `interface: ${IFACE}`,
  "virtual_router_id: 42",
  "priority: 150",
  'vips: ["10.0.0.100/24", "10.0.0.101"]',
  "unicast_src: 10.0.0.2",
  "unicast_peers: [10.0.0.3]",
  `health_file: ${healthFile}`,
  "stale_after: 2s",
  "unfit_penalty: 60",
  "notify: /usr/local/bin/director-changed",
];

/** The shell line of the track script, as keepalived would run it (argv after /bin/sh -c). */
function trackScriptLine(conf: string): string {
  const match = /script "\/bin\/sh -c '([^']+)'"/.exec(conf);
  assert.ok(match, `no track script in:\n${conf}`);
  return match[1];
}

describe("ballast ha keepalived-config", () => {
  const healthFile = join(dir.write("placeholder", ""), "..", "health");

  it("prints a config keepalived accepts, carrying the ha section", async () => {
    assert.ok(IFACE !== undefined, "this host has no interface besides loopback");
    const result = runCli([
      "ha",
      "keepalived-config",
      "--config",
      dir.write("a.yaml", config(haSection(healthFile))),
      "--router-id",
      "lb1",
    ]);
    assert.equal(result.status, 0, result.stderr);
    const conf = result.stdout;
    for (const expected of [
      /router_id lb1\n/,
      /virtual_router_id 42\n/,
      /priority 150\n/,
      new RegExp(`10\\.0\\.0\\.100/24 dev ${IFACE}\\n`),
      new RegExp(`10\\.0\\.0\\.101 dev ${IFACE}\\n`),
      /unicast_src_ip 10\.0\.0\.2\n/,
      /unicast_peer \{\n\s+10\.0\.0\.3\n/,
      new RegExp(`file "${healthFile}"\\n\\s+weight -60\\n`),
      /notify "\/usr\/local\/bin\/director-changed"/,
    ]) {
      assert.match(conf, expected);
    }
    const path = dir.write("keepalived.conf", conf);
    const keepalived = requireProgram("keepalived");
    const checked = await run(keepalived, ["--config-test", "-f", path]);
    assert.equal(checked.code, 0, `keepalived refused it: ${checked.stdout}${checked.stderr}`);
    // The check can fail: keepalived refuses the same file with one broken value.
    const broken = dir.write("broken.conf", conf.replace("advert_int 1", "advert_int x"));
    assert.notEqual((await run(keepalived, ["--config-test", "-f", broken])).code, 0);
  });

  it("the track script passes on a fresh health file and fails on a stale or missing one", async () => {
    const result = runCli([
      "ha",
      "keepalived-config",
      "--config",
      dir.write("b.yaml", config(haSection(healthFile))),
    ]);
    const line = trackScriptLine(result.stdout);
    const sh = requireProgram("sh");
    assert.notEqual((await run(sh, ["-c", line])).code, 0, "missing file");
    writeFileSync(healthFile, "0\n");
    assert.equal((await run(sh, ["-c", line])).code, 0, "fresh file");
    const old = new Date(Date.now() - 2500);
    utimesSync(healthFile, old, old);
    assert.notEqual((await run(sh, ["-c", line])).code, 0, "file older than stale_after");
  });

  it("with ha.sync, keepalived drives conntrackd and conntrackd-config prints FTFW for the link", async () => {
    const syncSection = [
      ...haSection(healthFile),
      "sync: { interface: eth2, address: 192.168.100.1, peer: 192.168.100.2, config_file: /etc/ct.conf }",
    ];
    const path = dir.write("sync.yaml", config(syncSection));
    const keepalived = runCli(["ha", "keepalived-config", "--config", path]);
    assert.equal(keepalived.status, 0, keepalived.stderr);
    assert.match(
      keepalived.stdout,
      /notify_master "\/bin\/sh -c 'conntrackd -C \/etc\/ct\.conf -c; conntrackd -C \/etc\/ct\.conf -f internal; /,
    );
    assert.match(
      keepalived.stdout,
      /notify_fault "\/bin\/sh -c 'conntrackd -C \/etc\/ct\.conf -t; /,
    );
    const checked = await run(requireProgram("keepalived"), [
      ...["--config-test", "-f", dir.write("sync.conf", keepalived.stdout)],
    ]);
    assert.equal(checked.code, 0, `keepalived refused it: ${checked.stdout}${checked.stderr}`);
    const conntrackd = runCli(["ha", "conntrackd-config", "--config", path]);
    assert.equal(conntrackd.status, 0, conntrackd.stderr);
    assert.match(conntrackd.stdout, /Mode FTFW \{/);
    assert.match(
      conntrackd.stdout,
      /IPv4_address 192\.168\.100\.1\n\s+IPv4_Destination_Address 192\.168\.100\.2\n\s+Port 3780\n\s+Interface eth2\n/,
    );
    const noSync = runCli([
      "ha",
      "conntrackd-config",
      "--config",
      dir.write("d.yaml", config(haSection(healthFile))),
    ]);
    assert.equal(noSync.status, 1);
    assert.match(noSync.stderr, /ha has no sync: section/);
  });

  it("a config without an ha section is refused with a pointer to the docs", () => {
    const result = runCli(["ha", "keepalived-config", "--config", dir.write("c.yaml", config([]))]);
    assert.equal(result.status, 1);
    assert.match(result.stderr, /there is no ha: section; docs\/kernel-ha\.md/);
  });
});
