/** A `limits` section with a malformed address is refused at load, with the path to it. */
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { ConfigError } from "../../src/config/errors.js";
import { parseConfigText } from "../../src/config/load.js";

function configWithLimits(limits: string): string {
  return [
    "listeners:",
    "  - name: web",
    "    protocol: http",
    '    bind: "127.0.0.1:0"',
    "    default_pool: app",
    `    limits: ${limits}`,
    "pools:",
    "  app:",
    '    backends: [{ address: "127.0.0.1:3001" }]',
  ].join("\n");
}

describe("limits config", () => {
  it("accepts IPv4, IPv6 and IPv4-mapped addresses and blocks", () => {
    const config = parseConfigText(
      configWithLimits(
        '{ allow: ["10.0.0.0/8", "::1", "2001:db8::/32", "::ffff:10.0.0.0/104"], deny: ["10.6.6.6"], rate_per_second: 2.5, burst: 5 }',
      ),
      "limits.yaml",
    );
    assert.equal(config.listeners[0].limits?.allow.length, 4);
  });

  for (const bad of ["300.1.1.1", "10.0.0.0/33", "::1/129", "1:2:3"]) {
    it(`refuses ${bad} with the path and what is valid`, () => {
      assert.throws(
        () => parseConfigText(configWithLimits(`{ deny: ["${bad}"] }`), "limits.yaml"),
        (error: unknown) => {
          assert.ok(error instanceof ConfigError);
          assert.match(error.message, /limits\.yaml.*listeners\[0\]\.limits\.deny\[0\]/);
          assert.match(error.message, /expected an address or CIDR block/);
          return true;
        },
      );
    });
  }
});
