/**
 * An interval or timeout of 0 is a config error, not a loop: `interval: 0` would check every
 * backend every millisecond (and `dynamic_weights.interval: 0` rebuild the algorithm as
 * often), and `timeout: 0` would fail every check before it could connect.
 */
import assert from "node:assert/strict";
import { test } from "node:test";
import { ConfigError, parseConfigText } from "../../src/config/load.js";

function pool(section: string): string {
  return [
    "listeners:",
    '  - { name: front, protocol: tcp, bind: "127.0.0.1:0", pool: api }',
    "pools:",
    "  api:",
    '    backends: [{ address: "127.0.0.1:3001" }]',
    `    ${section}`,
    "",
  ].join("\n");
}

function refusal(text: string): string {
  try {
    parseConfigText(text, "zero.yaml");
  } catch (error) {
    if (error instanceof ConfigError) return error.message;
    throw error;
  }
  assert.fail("the config was accepted");
}

test("health_check interval and timeout must be above 0", () => {
  assert.match(
    refusal(pool("health_check: { type: tcp, interval: 0 }")),
    /pools\.api\.health_check\.interval: .*above 0/,
  );
  assert.match(
    refusal(pool('health_check: { type: http, timeout: "0s" }')),
    /pools\.api\.health_check\.timeout: .*above 0/,
  );
});

test("dynamic_weights interval must be above 0", () => {
  assert.match(
    refusal(pool("dynamic_weights: { interval: 0ms }")),
    /pools\.api\.dynamic_weights\.interval: .*above 0/,
  );
});

test("positive values are still accepted", () => {
  const config = parseConfigText(
    pool("health_check: { type: tcp, interval: 250ms, timeout: 1 }"),
    "ok.yaml",
  );
  assert.equal(config.pools.api.health_check?.interval, 250);
  assert.equal(config.pools.api.health_check?.timeout, 1);
});
