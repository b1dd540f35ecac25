/**
 * Command names are looked up among the commands only: `ballast constructor` or
 * `ballast ctl toString` is an unknown command (exit 2), not a property every object has.
 */
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { describe, it } from "node:test";
import { fileURLToPath } from "node:url";

const cliPath = fileURLToPath(new URL("../../src/cli/main.js", import.meta.url));

function run(...args: string[]) {
  return spawnSync(process.execPath, [cliPath, ...args], {
    encoding: "utf8",
    timeout: 20_000,
    // No admin API is needed: an unknown command must fail before any request.
    env: { ...process.env, BALLAST_ADMIN: "http://127.0.0.1:9" },
  });
}

describe("command names like object properties", () => {
  for (const name of ["constructor", "toString", "hasOwnProperty"]) {
    it(`ballast ${name} is an unknown command`, () => {
      const result = run(name);
      assert.equal(result.status, 2, result.stderr);
      assert.match(result.stderr, new RegExp(`unknown command "${name}"`));
    });

    it(`ballast ctl ${name} is an unknown command`, () => {
      const result = run("ctl", name);
      assert.equal(result.status, 2, result.stderr);
      assert.match(result.stderr, new RegExp(`unknown command "${name}"`));
    });
  }
});
