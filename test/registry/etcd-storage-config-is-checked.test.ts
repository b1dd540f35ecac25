/**
 * `registry: { storage: { etcd } }` is checked like the rest of the config: endpoints and the
 * prefix must make sense, and a bad one is refused with its path and what would be valid.
 * Without `storage:`, the registry keeps its memory store.
 */
import assert from "node:assert/strict";
import { test } from "node:test";
import { parseConfigText } from "../../src/config/load.js";
import { Registry } from "../../src/registry/registry.js";
import { RegistryStore } from "../../src/registry/store.js";
import { freePort } from "../support/ports.js";

function config(registry: string) {
  return parseConfigText(
    [
      "listeners:",
      "  - { name: web, protocol: http, bind: '127.0.0.1:0', default_pool: none }",
      "pools:",
      "  none: {}",
      `registry: ${registry}`,
      "",
    ].join("\n"),
    "ballast.yaml",
  );
}

test("an etcd storage takes endpoints and a prefix, with defaults for the rest", () => {
  const parsed = config(
    "{ storage: { etcd: { endpoints: ['127.0.0.1:2379', 'http://[::1]:2379'] } } }",
  );
  assert.deepEqual(parsed.registry?.storage?.etcd, {
    endpoints: ["127.0.0.1:2379", "http://[::1]:2379"],
    prefix: "/ballast/registry/",
    timeout: 5000,
  });
});

test("bad etcd settings are refused with their path", () => {
  assert.throws(
    () => config("{ storage: { etcd: { endpoints: [] } } }"),
    /registry\.storage\.etcd\.endpoints/,
  );
  assert.throws(
    () => config("{ storage: { etcd: { endpoints: ['https://127.0.0.1:2379'] } } }"),
    /registry\.storage\.etcd\.endpoints\[0\][\s\S]*host:port/,
  );
  assert.throws(
    () => config("{ storage: { etcd: { endpoints: ['127.0.0.1:2379'], prefix: 'ballast' } } }"),
    /registry\.storage\.etcd\.prefix[\s\S]*starts and ends with/,
  );
  assert.throws(
    () => config("{ storage: { etcd: { endpoints: ['127.0.0.1:2379'], username: 'u' } } }"),
    /username and password go together/,
  );
  assert.throws(() => config("{ storage: { zookeeper: {} } }"), /registry\.storage/);
});

test("without storage: the registry stays in memory", () => {
  const registry = new Registry(config("{}").registry!);
  assert.ok(registry.store instanceof RegistryStore);
  void registry.close();
});

test("a registry whose etcd does not answer fails to start, naming the endpoints", async () => {
  const port = await freePort();
  const registry = new Registry(
    config(`{ storage: { etcd: { endpoints: ['127.0.0.1:${port}'], timeout: 500ms } } }`).registry!,
  );
  await assert.rejects(
    registry.start(),
    new RegExp(`etcd at 127\\.0\\.0\\.1:${port} did not answer`),
  );
  await registry.close();
});
