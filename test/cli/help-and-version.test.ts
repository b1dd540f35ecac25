/** `ballast help` lists every subcommand and every registered algorithm; `version` and usage errors. */
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { readFileSync } from "node:fs";
import { describe, it } from "node:test";
import { fileURLToPath } from "node:url";
import { algorithms } from "../../src/balancer/index.js";

const cliPath = fileURLToPath(new URL("../../src/cli/main.js", import.meta.url));
const packageJson = fileURLToPath(new URL("../../../package.json", import.meta.url));

function run(...args: string[]) {
  return spawnSync(process.execPath, [cliPath, ...args], { encoding: "utf8", timeout: 20_000 });
}

describe("ballast help and version", () => {
  it("help lists the subcommands and every algorithm with its registry description", () => {
    const result = run("help");
    assert.equal(result.status, 0);
    for (const command of ["start", "check", "demo", "ctl", "simulate", "version", "help"]) {
      assert.match(result.stdout, new RegExp(`^  ${command}\\b`, "m"), command);
    }
    for (const info of Object.values(algorithms)) {
      assert.ok(result.stdout.includes(info.description), `${info.name}: ${info.description}`);
    }
  });

  it("version prints the package version", () => {
    const { version } = JSON.parse(readFileSync(packageJson, "utf8")) as { version: string };
    const result = run("version");
    assert.equal(result.status, 0);
    assert.match(result.stdout, new RegExp(`^ballast ${version.replaceAll(".", "\\.")} `));
  });

  it("no command or an unknown one is a usage error (exit 2), as is a bad simulate option", () => {
    assert.equal(run().status, 2);
    const unknown = run("strat");
    assert.equal(unknown.status, 2);
    assert.match(unknown.stderr, /unknown command "strat"; did you mean "start"\?/);
    const simulate = run("simulate", "--rate", "fast");
    assert.equal(simulate.status, 2);
    assert.match(simulate.stderr, /--rate must be a positive number/);
  });
});
