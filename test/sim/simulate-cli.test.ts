/** `ballast simulate` through the real CLI: a table ranked by failures, then p99, JSON, and usage errors (exit 2). */
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { describe, it } from "node:test";
import { fileURLToPath } from "node:url";

const cliPath = fileURLToPath(new URL("../../src/cli/main.js", import.meta.url));

function run(...args: string[]) {
  return spawnSync(process.execPath, [cliPath, "simulate", ...args], {
    encoding: "utf8",
    timeout: 60_000,
  });
}

describe("ballast simulate", () => {
  it("prints a table ranked by failures, then p99, the same for the same seed", () => {
    const args = ["--requests", "3000", "--algorithms", "rr,lc,p2c,ewma,maglev", "--seed", "7"];
    const first = run(...args);
    assert.equal(first.status, 0, first.stderr);
    const lines = first.stdout.trim().split("\n");
    const header = lines.findIndex((line) => line.startsWith("algorithm"));
    assert.ok(header > 0, first.stdout);
    assert.match(lines[header], /p99 ms/);
    const rows = lines.slice(header + 1).map((line) => line.split(/\s+/));
    assert.deepEqual(rows.map((r) => r[0]).sort(), ["ewma", "lc", "maglev", "p2c", "rr"]);
    const p99 = rows.map((r) => Number(r[5]));
    assert.deepEqual(
      p99,
      [...p99].sort((a, b) => a - b),
    );
    assert.equal(run(...args).stdout, first.stdout);
  });

  it("--json gives every result with the scenario", () => {
    const result = run(
      "--requests",
      "1000",
      "--algorithms",
      "rr,chash",
      "--json",
      "--down",
      "b:0.2s-0.5s",
    );
    assert.equal(result.status, 0, result.stderr);
    const parsed = JSON.parse(result.stdout) as {
      scenario: { down: { backend: string; fromMs: number; toMs: number }[] };
      results: { algorithm: string; failures: number; keyStability: number | null }[];
    };
    assert.deepEqual(parsed.scenario.down, [{ backend: "b", fromMs: 200, toMs: 500 }]);
    assert.equal(parsed.results.length, 2);
    const chash = parsed.results.find((r) => r.algorithm === "chash");
    assert.ok(chash && chash.keyStability !== null && chash.failures > 0);
    assert.equal(parsed.results.find((r) => r.algorithm === "rr")?.keyStability, null);
  });

  it("--help lists every option and exits 0", () => {
    const result = run("--help");
    assert.equal(result.status, 0, result.stderr);
    for (const option of [
      "algorithms",
      "backends",
      "rate",
      "requests",
      "seed",
      "slow",
      "down",
      "keys",
      "json",
    ]) {
      assert.match(result.stdout, new RegExp(`--${option}\\b`), option);
    }
  });

  const usageErrors: [string[], RegExp][] = [
    [
      ["--algorithms", "rr,fastest"],
      /unknown algorithm "fastest" in --algorithms; expected "all" or a list of rr, wrr/,
    ],
    [["--backends", "a"], /backend "a": for example "a:5ms:w3:c10"/],
    [["--backends", "a:5ms:q3"], /backend "a": unknown part "q3"; expected wN/],
    [["--backends", "a:fast"], /backend "a" latency: "fast" is not a duration like 250ms or 2s/],
    [["--slow", "z:5x:1s-2s"], /--slow: no backend "z"; backends are a, b, c/],
    [["--slow", "b:five:1s-2s"], /--slow "b:five:1s-2s": for example "b:5x:2s-6s"/],
    [["--down", "c:5s-3s"], /--down "c:5s-3s": the window must end after it starts/],
    [["--rate", "0"], /--rate must be a positive number, not "0"/],
    [["--requests", "1.5"], /--requests must be a positive integer, not "1.5"/],
    [["--seed", "-1"], /option --seed needs a value/],
    [["--key-distribution", "pareto"], /--key-distribution must be zipf or uniform, not "pareto"/],
    [["--speed", "2"], /unknown option --speed; expected --algorithms/],
    [["extra"], /unexpected argument "extra"/],
  ];
  for (const [args, message] of usageErrors) {
    it(`exits 2 with a clear message for ${args.join(" ")}`, () => {
      const result = run(...args);
      assert.equal(result.status, 2, result.stdout + result.stderr);
      assert.match(result.stderr, /^ballast simulate: /);
      assert.match(result.stderr, message);
      assert.equal(result.stdout, "");
    });
  }
});
