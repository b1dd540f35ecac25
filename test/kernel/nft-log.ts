/**
 * A logging `nft` for the kernel tests: a wrapper named nft, put first on this process's PATH
 * (which the ballast started next inherits), that appends its arguments to a log and runs the
 * real nft. The lab's own helpers resolved the real nft before, so only ballast's runs are logged.
 */
import { chmodSync, readFileSync, writeFileSync } from "node:fs";
import { delimiter, join } from "node:path";
import { requireProgram } from "../support/programs.js";
import { tempDir } from "../support/temp-dir.js";

/** The log of ballast's nft runs, one line of arguments per run. */
export interface NftLog {
  /** The lines logged since the last clear. */
  lines(): string[];
  clear(): void;
  /** Puts PATH back and removes the wrapper. */
  restore(): void;
}

/** Installs the wrapper first on PATH; call before starting ballast. */
export function logNftRuns(): NftLog {
  const dir = tempDir("nft-log");
  const log = join(dir.path, "nft.log");
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
  writeFileSync(log, "");
  const path = process.env.PATH;
  process.env.PATH = `${dir.path}${delimiter}${path ?? ""}`;
  return {
    lines: () => readFileSync(log, "utf8").split("\n").filter(Boolean),
    clear: () => writeFileSync(log, ""),
    restore: () => {
      process.env.PATH = path;
      dir.cleanup();
    },
  };
}
