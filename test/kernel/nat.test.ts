/**
 * Kernel NAT (LVS-NAT through nftables): in network namespaces, a real `ballast start` in the
 * director writes the ruleset and the client's connections to the VIP reach real nginx
 * servers, DNATed by the kernel. Spread (wrr 3:1), a killed server, persistence, drain,
 * `ctl list` / `ctl connections`, and a stop that removes exactly ballast's table (the steps
 * every mode shares are in lvs-behaviours.ts).
 */
import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import { requireProgram } from "../support/programs.js";
import { waitFor } from "../support/wait.js";
import {
  crashKeepsForwardingAndStopRemovesOnlyBallast,
  ctlListsTheServiceLikeIpvsadm,
  drainLetsEstablishedConnectionsFinish,
  KernelSuite,
  killedServerLeavesTheDispatch,
  persistenceKeepsAClientOnOneServer,
  spreadsNewConnectionsByWeight,
} from "./lvs-behaviours.js";
import { VIP } from "./lvs-lab.js";

const asRoot = process.getuid?.() === 0;

describe("kernel NAT", { skip: asRoot ? false : "needs root" }, () => {
  const suite = new KernelSuite("nat");
  before(() => suite.build());
  after(() => suite.cleanup());

  it("spreads new connections 3:1 with wrr, as the weights say", () =>
    spreadsNewConnectionsByWeight(suite));

  it("writes ballast's own table and leaves other tables alone", async () => {
    const nft = requireProgram("nft");
    await suite.lvs.director.exec(nft, ["add", "table", "inet", "other"]);
    const ruleset = await suite.lvs.ruleset();
    assert.match(ruleset, /table ip ballast/);
    assert.match(
      ruleset,
      new RegExp(`ip daddr ${VIP.replaceAll(".", "\\.")} tcp dport 80 ct state new jump svc_`),
    );
    assert.match(ruleset, /numgen inc mod 4 vmap/);
    assert.match(ruleset, /table inet other/);
  });

  it("a real server killed mid-run leaves within the check bound; new connections go to the rest", () =>
    killedServerLeavesTheDispatch(suite));

  it("ctl weight and a reload of the config rewrite the dispatch, and the traffic follows", async () => {
    const { lvs } = suite;
    const pair = lvs.servers.slice(0, 2);
    await suite.start(suite.config(pair, { weights: [3, 1] }), pair);
    await lvs.ctl("weight", "web", "rs1", "1");
    await waitFor(
      "numgen over two slots",
      async () => (await lvs.ruleset()).includes("numgen inc mod 2 vmap"),
      10_000,
      100,
    );
    lvs.writeConfig(suite.config(pair, { weights: [1, 0] }));
    await lvs.ctl("reload");
    await waitFor(
      "rs2 out of the dispatch",
      async () => (await lvs.ruleset()).includes("numgen inc mod 1 vmap"),
      10_000,
      100,
    );
    const result = await lvs.burst(40);
    assert.deepEqual(result.servers, { rs1: 40 });
  });

  it("keeps a client on one real server while persistence holds", () =>
    persistenceKeepsAClientOnOneServer(suite));

  it("drain: established connections finish on the drained server, new ones go elsewhere", () =>
    drainLetsEstablishedConnectionsFinish(suite));

  it("ctl list shows the virtual service like ipvsadm -L -n; ctl connections like -L -c", () =>
    ctlListsTheServiceLikeIpvsadm(suite, "Masq", "TIME_WAIT"));

  it("stop removes exactly ballast's table; a crash leaves the rules forwarding", () =>
    crashKeepsForwardingAndStopRemovesOnlyBallast(suite, "table ip ballast"));
});
