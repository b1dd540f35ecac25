/**
 * `--keys` is capped like `--requests`: every key is built as a string and counted per
 * backend, so `--keys 300000000` (a typo, or one zero too many) ran out of memory after a
 * minute instead of being refused at once.
 */
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { it } from "node:test";
import { fileURLToPath } from "node:url";

const cliPath = fileURLToPath(new URL("../../src/cli/main.js", import.meta.url));

function run(...args: string[]) {
  return spawnSync(process.execPath, [cliPath, "simulate", ...args], {
    encoding: "utf8",
    timeout: 60_000,
  });
}

it("refuses more keys than the cap with a usage error, and accepts the cap itself", () => {
  const over = run("--keys", "2000001", "--requests", "10", "--algorithms", "rr");
  assert.equal(over.status, 2, over.stdout + over.stderr);
  assert.match(over.stderr, /^ballast simulate: --keys must be at most 2000000, not 2000001/);
  const at = run("--keys", "2000000", "--requests", "10", "--algorithms", "maglev", "--json");
  assert.equal(at.status, 0, at.stderr);
  assert.equal(JSON.parse(at.stdout).scenario.keys.count, 2_000_000);
});
