// biome-ignore-all lint/suspicious/noTemplateCurlyInString: these strings are literal ${VAR} references
/**
 * Each kind of mistake names the file, the path inside it, what is wrong and what would be
 * valid, and the real CLI exits non-zero.
 */
import assert from "node:assert/strict";
import { after, describe, it } from "node:test";
import { configWith, runCli, tempConfigDir } from "./cli.js";

const dir = tempConfigDir();
after(() => dir.cleanup());

/** Writes the config, runs `ballast check` on it and returns stderr after asserting exit 1. */
function checkFails(name: string, text: string, env: Record<string, string> = {}): string {
  const path = dir.write(name, text);
  const result = runCli(["check", "--config", path], env);
  assert.equal(result.status, 1, `exit status; stderr: ${result.stderr}`);
  assert.ok(result.stderr.includes(path), `names the file: ${result.stderr}`);
  return result.stderr;
}

describe("config mistakes", () => {
  it("a bad weight: path, range and value", () => {
    const stderr = checkFails(
      "weight.yaml",
      configWith({
        backends: [
          '      - { address: "127.0.0.1:3001" }',
          '      - { address: "127.0.0.1:3002" }',
          '      - { address: "127.0.0.1:3003", weight: -2 }',
        ].join("\n"),
      }),
    );
    assert.match(
      stderr,
      /weight\.yaml: pools\.api\.backends\[2\]\.weight: too small; expected a whole number from 0 to 65535 \(got -2\)/,
    );
  });

  it("a weight of the wrong type", () => {
    const stderr = checkFails(
      "weight-type.yaml",
      configWith({ backends: '      - { address: "127.0.0.1:3001", weight: heavy }' }),
    );
    assert.match(
      stderr,
      /pools\.api\.backends\[0\]\.weight: wrong type \(a string\); expected a whole number/,
    );
    assert.match(stderr, /\(got "heavy"\)/);
  });

  it("an unknown key: did you mean, and the keys allowed there", () => {
    const stderr = checkFails(
      "unknown-key.yaml",
      configWith({ backends: '      - { address: "127.0.0.1:3001", wieght: 2 }' }),
    );
    assert.match(stderr, /pools\.api\.backends\[0\]\.wieght: unknown key; did you mean "weight"\?/);
    assert.match(stderr, /keys allowed here: address, name, weight/);
  });

  it("an unknown pool referenced by a route", () => {
    const stderr = checkFails(
      "unknown-pool.yaml",
      configWith({
        listener: "    routes:\n      - { match: { path_prefix: /v2 }, pool: api-v2 }",
      }),
    );
    assert.match(
      stderr,
      /listeners\[0\]\.routes\[0\]\.pool: unknown pool "api-v2"; defined pools: api/,
    );
  });

  it("an unknown pool is reported together with other mistakes", () => {
    const stderr = checkFails(
      "unknown-pool-and-weight.yaml",
      configWith({
        listener: "    routes:\n      - { match: { path_prefix: /v2 }, pool: api-v2 }",
        backends: '      - { address: "127.0.0.1:3001", weight: -1 }',
      }),
    );
    assert.match(
      stderr,
      /listeners\[0\]\.routes\[0\]\.pool: unknown pool "api-v2"; defined pools: api/,
    );
    assert.match(stderr, /pools\.api\.backends\[0\]\.weight: too small/);
  });

  it("a bad duration", () => {
    const stderr = checkFails("duration.yaml", configWith({ pool: "    slow_start: 10 seconds" }));
    assert.match(
      stderr,
      /pools\.api\.slow_start: invalid value; expected a duration such as "250ms", "5s"/,
    );
    assert.match(stderr, /\(got "10 seconds"\)/);
  });

  it("a bad address and a port out of range", () => {
    const stderr = checkFails(
      "address.yaml",
      configWith({
        backends: [
          '      - { address: "localhost" }',
          '      - { address: "10.0.0.1:70000" }',
        ].join("\n"),
      }),
    );
    assert.match(
      stderr,
      /pools\.api\.backends\[0\]\.address: invalid format; expected "host:port"/,
    );
    assert.match(stderr, /pools\.api\.backends\[1\]\.address: port 70000 is above 65535/);
  });

  it("an unknown algorithm suggests the nearest name", () => {
    const stderr = checkFails(
      "algorithm.yaml",
      configWith().replace("algorithm: wrr", "algorithm: maglve"),
    );
    assert.match(
      stderr,
      /pools\.api\.algorithm: unknown value; did you mean "maglev"\? expected one of rr, wrr/,
    );
  });

  it("a missing environment variable names the variable and where it appears", () => {
    const stderr = checkFails(
      "env.yaml",
      configWith({ backends: '      - { address: "${API_BACKEND}" }' }),
    );
    assert.match(
      stderr,
      /pools\.api\.backends\[0\]\.address: environment variable API_BACKEND is not set; set it, or give a default as \$\{API_BACKEND:-value\}/,
    );
  });

  it("a YAML syntax error gives line and column", () => {
    const text = configWith().replace('bind: "127.0.0.1:8080"', 'bind: "127.0.0.1:8080');
    const stderr = checkFails("syntax.yaml", text);
    assert.match(stderr, /syntax\.yaml:\d+:\d+: YAML syntax error: /);
  });

  it("every mistake in the file is reported, not only the first", () => {
    const stderr = checkFails(
      "several.yaml",
      configWith({
        pool: "    slow_start: soon\n    panic_threshold: 150",
        backends: '      - { address: "127.0.0.1:3001", weight: 1.5 }',
      }),
    );
    assert.match(stderr, /slow_start/);
    assert.match(stderr, /panic_threshold: too large; expected a number from 0 to 100 \(got 150\)/);
    assert.match(stderr, /backends\[0\]\.weight/);
    assert.match(stderr, /3 errors; the config was not accepted/);
  });

  it("a file that does not exist", () => {
    const result = runCli(["check", "--config", "/nonexistent/ballast.yaml"]);
    assert.equal(result.status, 1);
    assert.match(
      result.stderr,
      /\/nonexistent\/ballast\.yaml: cannot read the file \(no such file\)/,
    );
  });

  it("usage errors exit 2", () => {
    assert.equal(runCli(["check"]).status, 2);
    assert.equal(runCli(["check", "--cfg", "x"]).status, 2);
    assert.equal(runCli(["no-such-command"]).status, 2);
  });

  it("a good config exits 0 with a one-line summary", () => {
    const path = dir.write("good.yaml", configWith());
    const result = runCli(["check", "--config", path]);
    assert.equal(result.status, 0, result.stderr);
    assert.equal(result.stdout.trim().split("\n").length, 1);
    assert.match(result.stdout, /ok: 1 listener \(http 127\.0\.0\.1:8080\), 1 pool, 1 backend/);
  });
});
