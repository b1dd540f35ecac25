import assert from "node:assert/strict";
import { test } from "node:test";
import { healthCheckSchema } from "../../src/config/schema/health.js";
import { poolSchema } from "../../src/config/schema/pool.js";
import { dynamicWeightOptionsFromConfig } from "../../src/health/index.js";

test("a pattern that is not a regular expression is a config error, not a check that always fails", () => {
  const bad = healthCheckSchema.safeParse({
    type: "send-expect",
    send: "PING\\r\\n",
    expect: "+PONG",
  });
  assert.equal(bad.success, false);
  assert.match(JSON.stringify(bad.error?.issues), /not a valid regular expression/);
  const badBody = healthCheckSchema.safeParse({ type: "http", expect_body: "[" });
  assert.deepEqual(badBody.error?.issues[0].path, ["expect_body"]);
});

test("health check defaults are HAProxy's: inter 2s, rise 2, fall 3, 200-399", () => {
  const http = healthCheckSchema.parse({ type: "http", interval: "5s" });
  assert.equal(http.interval, 5_000);
  assert.equal(http.timeout, 1_000);
  assert.equal(http.rise, 2);
  assert.equal(http.fall, 3);
  assert.deepEqual(http.type === "http" && http.expect_status, ["200-399"]);
});

test("dynamic weights keep a floor above zero and default to the median baseline", () => {
  assert.equal(poolSchema.safeParse({ dynamic_weights: { floor: 0 } }).success, false);
  const pool = poolSchema.parse({ dynamic_weights: { interval: "2s" } });
  assert.deepEqual(dynamicWeightOptionsFromConfig(pool.dynamic_weights), {
    intervalMs: 2_000,
    floor: 0.25,
    ceiling: 2,
    maxStep: 0.1,
    baseline: "median",
  });
  assert.equal(dynamicWeightOptionsFromConfig(undefined), undefined);
});
