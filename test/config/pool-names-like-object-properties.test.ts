/**
 * Pool names are map keys, not object properties: a name such as `constructor` or
 * `toString` is unknown until the config defines it, and a reload that adds such a pool adds
 * it (an `in` test would find these names on every object's prototype).
 */
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { ConfigError, parseConfigText } from "../../src/config/load.js";
import { diffConfigs } from "../../src/runtime/diff.js";

function config(listenerPool: string, pools: string[]): string {
  const lines = [
    "listeners:",
    `  - { name: front, protocol: tcp, bind: '127.0.0.1:0', pool: ${listenerPool} }`,
    "pools:",
  ];
  for (const name of pools) lines.push(`  ${name}: { backends: [{ address: "127.0.0.1:3001" }] }`);
  return `${lines.join("\n")}\n`;
}

describe("pool names like object properties", () => {
  for (const name of ["constructor", "toString", "valueOf", "hasOwnProperty"]) {
    it(`a listener naming an undefined pool "${name}" is refused`, () => {
      assert.throws(
        () => parseConfigText(config(name, ["web"]), "names.yaml"),
        (error: unknown) => error instanceof ConfigError && /unknown pool "/.test(error.message),
      );
    });
  }

  it("a reload that adds a pool named constructor lists it as added", () => {
    const before = parseConfigText(config("web", ["web"]), "before.yaml");
    const after = parseConfigText(config("web", ["web", "constructor"]), "after.yaml");
    const diff = diffConfigs(before, after);
    assert.deepEqual(diff.pools.added, ["constructor"]);
    assert.deepEqual(diff.pools.changed, []);
    assert.deepEqual(diffConfigs(after, before).pools.removed, ["constructor"]);
  });
});
