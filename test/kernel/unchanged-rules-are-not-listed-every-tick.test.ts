/**
 * A kernel service whose rules do not change costs the director no nft listing per tick: every
 * `nft list` fetches every element of every set (tens of thousands of DR flows on a busy
 * director), so the controller compares the rules in memory and lists the tables only when
 * they change (or every 30 s). Seen from outside: ballast in the director runs nft through a
 * logging wrapper found first on its PATH, and the log of an idle stretch holds no table
 * listing, while a weight change still lists and rewrites.
 */
import assert from "node:assert/strict";
import { chmodSync, readFileSync, writeFileSync } from "node:fs";
import { delimiter, join } from "node:path";
import { after, before, describe, it } from "node:test";
import { setTimeout as sleep } from "node:timers/promises";
import type { Daemon } from "../support/daemon.js";
import { requireProgram } from "../support/programs.js";
import { tempDir } from "../support/temp-dir.js";
import { waitFor } from "../support/wait.js";
import { buildLvsLab, dispatchesTo, kernelConfig, type LvsLab } from "./lvs-lab.js";

const asRoot = process.getuid?.() === 0;

describe("kernel controller", { skip: asRoot ? false : "needs root" }, () => {
  let lvs: LvsLab;
  let ballast: Daemon | undefined;
  const dir = tempDir("nft-log");
  const log = join(dir.path, "nft.log");
  const path = process.env.PATH;
  before(async () => {
    lvs = await buildLvsLab(1);
    // A wrapper named nft that logs its arguments and runs the real one.
    const wrapper = join(dir.path, "nft");
    writeFileSync(
      wrapper,
      `#!${process.execPath}
const { appendFileSync } = require("node:fs");
const { spawnSync } = require("node:child_process");
appendFileSync(${JSON.stringify(log)}, process.argv.slice(2).join(" ") + "\\n");
const run = spawnSync(${JSON.stringify(requireProgram("nft"))}, process.argv.slice(2), { stdio: "inherit" });
process.exit(run.status ?? 1);
`,
    );
    chmodSync(wrapper, 0o755);
    writeFileSync(join(dir.path, "package.json"), '{ "type": "commonjs" }');
    process.env.PATH = `${dir.path}${delimiter}${path ?? ""}`;
  });
  after(async () => {
    process.env.PATH = path;
    await ballast?.stop();
    await lvs?.cleanup();
    dir.cleanup();
  });

  it("an unchanged ruleset is not listed again at every tick; a change still is", async () => {
    const [rs1] = lvs.servers;
    ballast = await lvs.startBallast(kernelConfig([rs1], { mode: "nat", check: false }));
    await waitFor("rs1 in the dispatch", () => dispatchesTo(lvs, rs1));
    // ballast's nft runs went through the wrapper: the first transaction is in the log
    assert.match(readFileSync(log, "utf8"), /^-f -$/m);
    await sleep(1500);
    writeFileSync(log, "");
    await sleep(5000); // five ticks of 1 s, each of which asks for a transaction
    const idle = readFileSync(log, "utf8").split("\n").filter(Boolean);
    assert.equal(
      idle.filter((line) => line.includes("list table")).length,
      0,
      `no table listing while nothing changes: ${idle.join(" | ")}`,
    );

    writeFileSync(log, "");
    await lvs.ctl("weight", "web", "rs1", "0");
    await waitFor("the weight change applied", () => readFileSync(log, "utf8").includes("-f -"));
    assert.match(readFileSync(log, "utf8"), /list table ip ballast/);
  });
});
