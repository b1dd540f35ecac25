/** The shape of one error line: file, path (dots and [i]), problem, what is valid, the value. */
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { formatPath } from "../../src/config/errors.js";
import { ConfigError, formatIssue, parseConfigText } from "../../src/config/load.js";

function issuesOf(text: string): ConfigError["issues"] {
  try {
    parseConfigText(text, "f.yaml", { env: {} });
  } catch (error) {
    assert.ok(error instanceof ConfigError);
    return error.issues;
  }
  assert.fail("expected a ConfigError");
}

describe("error format", () => {
  it("paths use dots for keys, [i] for indexes and quotes for keys that hold dots", () => {
    assert.equal(
      formatPath(["pools", "api", "backends", 2, "weight"]),
      "pools.api.backends[2].weight",
    );
    assert.equal(formatPath(["pools", "api.v2", "algorithm"]), 'pools["api.v2"].algorithm');
    assert.equal(formatPath([]), "");
  });

  it("one line: FILE: path: problem; valid (got value)", () => {
    const line = formatIssue({
      file: "ballast.yaml",
      path: "pools.api.backends[2].weight",
      problem: "too large",
      expected: "expected a whole number from 0 to 65535",
      got: "70000",
    });
    assert.equal(
      line,
      "ballast.yaml: pools.api.backends[2].weight: too large; expected a whole number from 0 to 65535 (got 70000)",
    );
  });

  it("issues carry the line and column of the offending value, even under a dotted pool name", () => {
    const issues = issuesOf(`listeners:
  - { name: web, protocol: http, bind: 8080, default_pool: api.v2 }
pools:
  api.v2:
    backends:
      - address: "127.0.0.1:1"
        weight: 1.5
`);
    assert.equal(issues.length, 1);
    assert.equal(issues[0].path, 'pools["api.v2"].backends[0].weight');
    assert.equal(issues[0].line, 7);
    assert.equal(issues[0].column, 17);
  });

  it("long values are cut short", () => {
    const issues = issuesOf(`listeners:
  - { name: web, protocol: http, bind: 8080, default_pool: api }
pools:
  api:
    algorithm: ${"x".repeat(200)}
`);
    assert.ok(issues[0].got !== undefined && issues[0].got.length <= 60, issues[0].got);
  });
});
