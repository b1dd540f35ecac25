/**
 * A kernel service whose rules do not change costs the director no nft listing per tick: every
 * `nft list` fetches every element of every set (tens of thousands of DR flows on a busy
 * director), so the controller compares the rules in memory and lists the tables only when
 * they change (or every 30 s). Seen from outside: ballast in the director runs nft through a
 * logging wrapper found first on its PATH, and the log of an idle stretch holds no table
 * listing, while a weight change still lists and rewrites.
 */
import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import { setTimeout as sleep } from "node:timers/promises";
import type { Daemon } from "../support/daemon.js";
import { waitFor } from "../support/wait.js";
import { buildLvsLab, dispatchesTo, kernelConfig, type LvsLab } from "./lvs-lab.js";
import { logNftRuns, type NftLog } from "./nft-log.js";

const asRoot = process.getuid?.() === 0;

describe("kernel controller", { skip: asRoot ? false : "needs root" }, () => {
  let lvs: LvsLab;
  let ballast: Daemon | undefined;
  let nft: NftLog | undefined;
  before(async () => {
    lvs = await buildLvsLab(1);
    nft = logNftRuns();
  });
  after(async () => {
    nft?.restore();
    await ballast?.stop();
    await lvs?.cleanup();
  });

  it("an unchanged ruleset is not listed again at every tick; a change still is", async () => {
    const log = nft as NftLog;
    const [rs1] = lvs.servers;
    ballast = await lvs.startBallast(kernelConfig([rs1], { mode: "nat", check: false }));
    await waitFor("rs1 in the dispatch", () => dispatchesTo(lvs, rs1));
    // ballast's nft runs went through the wrapper: the first transaction is in the log
    assert.ok(log.lines().includes("-f -"), log.lines().join(" | "));
    await sleep(1500);
    log.clear();
    await sleep(5000); // five ticks of 1 s, each of which asks for a transaction
    const idle = log.lines();
    assert.equal(
      idle.filter((line) => line.includes("list table")).length,
      0,
      `no table listing while nothing changes: ${idle.join(" | ")}`,
    );

    log.clear();
    await lvs.ctl("weight", "web", "rs1", "0");
    await waitFor("the weight change applied", () => log.lines().includes("-f -"));
    assert.ok(
      log.lines().some((line) => line.includes("list table ip ballast")),
      log.lines().join(" | "),
    );
  });
});
