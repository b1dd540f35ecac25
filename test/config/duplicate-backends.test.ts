/** Two backends of one pool may not share an id (name, else address): the API, cookies and tables name them by it. */
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { ConfigError, parseConfigText } from "../../src/config/load.js";

function config(backends: string): string {
  return `listeners:
  - { name: front, protocol: tcp, bind: "127.0.0.1:0", pool: web }
pools:
  web:
    backends: ${backends}
`;
}

describe("duplicate backends", () => {
  it("refuses the same address twice, naming the second entry's path", () => {
    assert.throws(
      () =>
        parseConfigText(
          config(`[{ address: "127.0.0.1:3001" }, { address: "127.0.0.1:3001", weight: 2 }]`),
          "dup.yaml",
        ),
      (error: unknown) =>
        error instanceof ConfigError &&
        /dup\.yaml: pools\.web\.backends\[1\]: duplicate backend "127\.0\.0\.1:3001"/.test(
          error.message,
        ),
    );
  });

  it("refuses the same name twice, and accepts one address under two names", () => {
    assert.throws(
      () =>
        parseConfigText(
          config(
            `[{ name: a, address: "127.0.0.1:3001" }, { name: a, address: "127.0.0.1:3002" }]`,
          ),
          "dup.yaml",
        ),
      /duplicate backend "a"/,
    );
    const ok = parseConfigText(
      config(`[{ name: a, address: "127.0.0.1:3001" }, { name: b, address: "127.0.0.1:3001" }]`),
      "ok.yaml",
    );
    assert.equal(ok.pools.web.backends.length, 2);
  });
});
