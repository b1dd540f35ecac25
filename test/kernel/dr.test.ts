/**
 * Kernel direct routing (LVS-DR through nftables' netdev ingress): the director changes only
 * the MACs and sends the frame back out; the real servers hold the VIP on lo (arp_ignore=1,
 * arp_announce=2) and answer the client directly. Spread (wrr 3:1), a killed server,
 * persistence, drain through the director's flow table, `ctl list`, and a clean stop.
 */
import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import { setTimeout as sleep } from "node:timers/promises";
import type { Daemon } from "../support/daemon.js";
import { spawnIn } from "../support/netns.js";
import { CLIENT_SCRIPT } from "../support/netns-client.js";
import { requireProgram } from "../support/programs.js";
import { waitFor } from "../support/wait.js";
import {
  buildLvsLab,
  dispatchesTo,
  kernelConfig,
  type LabServer,
  type LvsLab,
  VIP,
} from "./lvs-lab.js";

const asRoot = process.getuid?.() === 0;

describe("kernel DR", { skip: asRoot ? false : "needs root" }, () => {
  let lvs: LvsLab;
  let ballast: Daemon | undefined;
  before(async () => {
    lvs = await buildLvsLab(3);
  });
  after(async () => {
    await ballast?.stop();
    await lvs?.cleanup();
  });

  /**
   * Starts ballast on `yaml`, then waits until the checks (and, for DR, the neighbour table)
   * have put every one of `servers` in the dispatch: ballast's start line comes first.
   */
  async function start(yaml: string, servers: readonly LabServer[]): Promise<void> {
    await ballast?.stop();
    ballast = await lvs.startBallast(yaml);
    for (const server of servers) {
      await waitFor(`${server.name} in the dispatch`, () => dispatchesTo(lvs, server));
    }
  }

  it("spreads new connections 3:1 with wrr, as the weights say", async () => {
    await start(
      kernelConfig(lvs.servers.slice(0, 2), { mode: "dr", weights: [3, 1] }),
      lvs.servers.slice(0, 2),
    );
    const result = await lvs.burst(2000);
    assert.equal(result.failed, 0);
    const share = (result.servers.rs1 ?? 0) / 2000;
    // IPVS's wrr cycle walked by numgen per new flow: 3 of every 4, give or take the cycle's end.
    assert.ok(
      Math.abs(share - 0.75) < 0.02,
      `rs1 got ${share} of ${JSON.stringify(result.servers)}`,
    );
  });

  it("writes ballast's own table and leaves other tables alone", async () => {
    const nft = requireProgram("nft");
    await lvs.director.exec(nft, ["add", "table", "inet", "other"]);
    const ruleset = await lvs.ruleset();
    const ours = ruleset.slice(ruleset.indexOf("table netdev ballast"));
    assert.ok(ruleset.includes("table netdev ballast"), "no table netdev ballast");
    assert.ok(ours.includes('type filter hook ingress device "eth0"'));
    assert.ok(ours.includes("numgen inc mod 4 vmap"));
    assert.match(
      ours,
      /update @f_\w+ \{ ip saddr \. tcp sport \} ether daddr set [0-9a-f:]{17} goto out_/,
    );
    assert.ok(ours.includes('fwd to "eth0"'));
    assert.match(ruleset, /table inet other/);
  });

  it("a real server killed mid-run leaves within the check bound; new connections go to the rest", async () => {
    await start(kernelConfig(lvs.servers, { mode: "dr", algorithm: "rr" }), lvs.servers);
    const running = lvs.burstFor(8000);
    const before = await lvs.dispatched();
    await waitFor(
      "the load to be under way",
      async () => (await lvs.dispatched()) > before + 100,
      20_000,
      50,
    );
    // The checks may find rs3 up a moment after the others on a loaded machine.
    await waitFor("rs3 in the dispatch before the kill", () => dispatchesTo(lvs, lvs.servers[2]));
    await lvs.servers[2].nginx.stop();
    const killedAt = Date.now();
    // rs3's chains (named by its address in hex) leave the ruleset once the check finds it down.
    // The check bound is about 0.5 s (every 200 ms, fall 2); 10 s leaves room for a loaded machine.
    await waitFor(
      "rs3 out of the ruleset",
      async () => !(await lvs.ruleset()).includes("0a4d000d0050"),
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
    lvs.servers[2].nginx = await lvs.lab.startNginxIn(lvs.servers[2].ns, { body: "rs3" });
  });

  it("keeps a client on one real server while persistence holds", async () => {
    await start(
      kernelConfig(lvs.servers, { mode: "dr", algorithm: "rr", persistence: "60s" }),
      lvs.servers,
    );
    const result = await lvs.burst(60);
    assert.equal(result.failed, 0);
    assert.equal(Object.keys(result.servers).length, 1, JSON.stringify(result.servers));
    const ruleset = await lvs.ruleset();
    assert.match(ruleset, /update @p_/);
  });

  it("drain: established connections finish on the drained server, new ones go elsewhere", async () => {
    await start(
      kernelConfig(lvs.servers.slice(0, 2), { mode: "dr", algorithm: "rr" }),
      lvs.servers.slice(0, 2),
    );
    const holder = spawnIn(lvs.client, process.execPath, [
      CLIENT_SCRIPT,
      "hold",
      "--host",
      VIP,
      "--port",
      "80",
    ]);
    let output = "";
    holder.stdout.on("data", (chunk) => {
      output += chunk;
    });
    try {
      await waitFor("the held connection's first answer", () => output.includes("server"), 10_000);
      const held = (JSON.parse(output.split("\n")[0]) as { server: string }).server;
      await lvs.ctl("drain", "web", held);
      const drained = lvs.servers.find((server) => server.name === held);
      assert.ok(drained, `no lab server named ${held}`);
      await waitFor("the drained server out of the dispatch", async () => {
        return !(await dispatchesTo(lvs, drained));
      });
      const result = await lvs.burst(40);
      assert.equal(result.servers[held], undefined, JSON.stringify(result.servers));
      holder.kill("SIGUSR1");
      await waitFor(
        "a second answer on the held connection",
        () => output.split("\n").filter((l) => l.includes("server")).length >= 2,
        10_000,
      );
      const second = JSON.parse(output.split("\n").filter((l) => l.includes("server"))[1]) as {
        server: string;
      };
      assert.equal(second.server, held);
    } finally {
      holder.kill("SIGTERM");
    }
  });

  it("ctl list shows the virtual service like ipvsadm -L -n; ctl connections like -L -c", async () => {
    await start(kernelConfig(lvs.servers.slice(0, 2), { mode: "dr", algorithm: "wlc" }), []);
    await lvs.burst(20);
    await sleep(1200);
    const list = await lvs.ctl("list");
    assert.match(list, new RegExp(`TCP  ${VIP.replaceAll(".", "\\.")}:80 wlc`));
    assert.match(list, /-> 10\.77\.0\.11:80\s+Route\s+\d+\s+\d+\s+\d+/);
    const connections = await lvs.ctl("connections");
    assert.match(connections, /FLOW/);
    assert.match(connections, /10\.77\.0\.10:\d+/);
  });

  it("stop removes exactly ballast's table; a crash leaves the rules forwarding", async () => {
    await start(kernelConfig(lvs.servers.slice(0, 2), { mode: "dr" }), lvs.servers.slice(0, 2));
    ballast?.process.kill("SIGKILL");
    await sleep(200);
    assert.ok((await lvs.ruleset()).includes("table netdev ballast"));
    assert.equal((await lvs.burst(20)).failed, 0);
    await start(kernelConfig(lvs.servers.slice(0, 2), { mode: "dr" }), lvs.servers.slice(0, 2));
    await ballast?.stop();
    ballast = undefined;
    const ruleset = await lvs.ruleset();
    assert.ok(!ruleset.includes("table netdev ballast"), "table netdev ballast is still there");
    assert.ok(ruleset.includes("table inet other"));
  });
});
