/**
 * /metrics shows only backends that are in a pool: the health-transition counter of a
 * backend that left (heartbeat instances come and go under new names) is dropped with it,
 * so the series do not pile up for as long as the process runs.
 */
import assert from "node:assert/strict";
import { test } from "node:test";
import { createMetrics } from "../../src/admin/metrics.js";
import { parseConfigText } from "../../src/config/load.js";
import { Runtime } from "../../src/runtime/runtime.js";

const CONFIG = `
listeners:
  - { name: front, protocol: tcp, bind: "127.0.0.1:0", pool: api }
pools:
  api:
    backends: [{ name: api-1, address: "127.0.0.1:3001" }]
`;

test("a removed backend's health transitions leave /metrics", async () => {
  const runtime = new Runtime(parseConfigText(CONFIG, "metrics.yaml"));
  const metrics = createMetrics(runtime);
  const pool = runtime.pools.get("api")!;
  try {
    pool.add({ id: "instance-7", host: "127.0.0.1", port: 3007, source: "registry" });
    pool.setHealth("instance-7", "down", "test");
    pool.setHealth("api-1", "down", "test");
    let text = await metrics.registry.metrics();
    assert.match(text, /ballast_health_transitions_total\{[^}]*backend="instance-7"[^}]*\} 1/);

    pool.remove("instance-7");
    text = await metrics.registry.metrics();
    assert.doesNotMatch(text, /backend="instance-7"/);
    assert.match(
      text,
      /ballast_health_transitions_total\{[^}]*backend="api-1"[^}]*to="down"\} 1/,
      "backends still in the pool keep their counts",
    );
  } finally {
    metrics.stop();
    pool.close();
  }
});
