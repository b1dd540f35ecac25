/**
 * The connection snapshot is paced by its own cost: reading it (conntrack, or nft listing the
 * DR flow sets) costs in proportion to the connections, and on a busy director it would take
 * the CPU the packets need. After a read that took t, the next waits about 20 t. Seen from
 * outside: with 10000 flows in a DR server's flow set, ballast's nft runs (through a logging
 * wrapper on its PATH) list that set at most once in 10 s, where every tick used to.
 */
import assert from "node:assert/strict";
import { writeFileSync } from "node:fs";
import { join } from "node:path";
import { after, before, describe, it } from "node:test";
import { setTimeout as sleep } from "node:timers/promises";
import { flowSet, serviceKey } from "../../src/kernel/ruleset.js";
import type { Daemon } from "../support/daemon.js";
import { requireProgram } from "../support/programs.js";
import { tempDir } from "../support/temp-dir.js";
import { waitFor } from "../support/wait.js";
import { buildLvsLab, dispatchesTo, kernelConfig, type LvsLab } from "./lvs-lab.js";
import { logNftRuns, type NftLog } from "./nft-log.js";

const asRoot = process.getuid?.() === 0;
const FLOWS = 10_000;

describe("kernel DR connection snapshot", { skip: asRoot ? false : "needs root" }, () => {
  let lvs: LvsLab;
  let ballast: Daemon | undefined;
  let nft: NftLog | undefined;
  const dir = tempDir("flows");
  const realNft = requireProgram("nft");
  before(async () => {
    lvs = await buildLvsLab(1);
    nft = logNftRuns();
  });
  after(async () => {
    nft?.restore();
    await ballast?.stop();
    await lvs?.cleanup();
    dir.cleanup();
  });

  it("a big flow table is read less often than every tick", async () => {
    const log = nft as NftLog;
    const [rs1] = lvs.servers;
    ballast = await lvs.startBallast(kernelConfig([rs1], { mode: "dr", check: false }));
    await waitFor("rs1 in the dispatch", () => dispatchesTo(lvs, rs1), 30_000);
    const set = flowSet(
      { key: serviceKey("vip"), flowTimeoutSeconds: 300 },
      { id: "rs1", address: rs1.address, port: 80, weight: 1 },
    );
    // 10000 flows from made-up clients, as a busy service would have.
    const flows: string[] = [];
    for (let i = 0; i < FLOWS; i++) {
      flows.push(`10.200.${Math.floor(i / 250) % 250}.${(i % 250) + 1} . 1024`);
    }
    const lines = [`add element netdev ballast ${set} { ${flows.join(", ")} }`];
    const script = join(dir.path, "flows.nft");
    writeFileSync(script, `${lines.join("\n")}\n`);
    await lvs.director.exec(realNft, ["-f", script], 60_000);

    // The first read of the big table, then a stretch of ten ticks.
    log.clear();
    await waitFor(
      "a read of the flow set",
      () => log.lines().some((line) => line.includes(`list set netdev ballast ${set}`)),
      60_000,
      100,
    );
    log.clear();
    await sleep(10_000);
    // Only the flow set's listings: each snapshot also lists the server's closing set.
    const reads = log.lines().filter((line) => line.includes(`list set netdev ballast ${set}`));
    assert.ok(reads.length <= 1, `${reads.length} reads of the flow set in 10 s`);
  });
});
