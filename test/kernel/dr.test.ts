/**
 * Kernel direct routing (LVS-DR through nftables' netdev ingress): the director changes only
 * the MACs and sends the frame back out; the real servers hold the VIP on lo (arp_ignore=1,
 * arp_announce=2) and answer the client directly. Spread (wrr 3:1), a killed server,
 * persistence, drain through the director's flow table, `ctl list`, and a clean stop (the
 * steps every mode shares are in lvs-behaviours.ts).
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

const asRoot = process.getuid?.() === 0;

describe("kernel DR", { skip: asRoot ? false : "needs root" }, () => {
  const suite = new KernelSuite("dr");
  before(() => suite.build());
  after(() => suite.cleanup());

  it("spreads new connections 3:1 with wrr, as the weights say", () =>
    spreadsNewConnectionsByWeight(suite));

  it("writes ballast's own table and leaves other tables alone", async () => {
    const nft = requireProgram("nft");
    await suite.lvs.director.exec(nft, ["add", "table", "inet", "other"]);
    const ruleset = await suite.lvs.ruleset();
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

  it("a real server killed mid-run leaves within the check bound; new connections go to the rest", () =>
    killedServerLeavesTheDispatch(suite));

  it("keeps a client on one real server while persistence holds", () =>
    persistenceKeepsAClientOnOneServer(suite));

  it("drain: established connections finish on the drained server, new ones go elsewhere", () =>
    drainLetsEstablishedConnectionsFinish(suite));

  it("ctl list shows the virtual service like ipvsadm -L -n; ctl connections like -L -c", () =>
    ctlListsTheServiceLikeIpvsadm(suite, "Route", "FIN_WAIT"));

  it("stop removes exactly ballast's table; a crash leaves the rules forwarding", () =>
    crashKeepsForwardingAndStopRemovesOnlyBallast(suite, "table netdev ballast"));
});
