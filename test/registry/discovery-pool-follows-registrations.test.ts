/**
 * A pool with `discovery:` takes its backends from a registry service and follows it with no
 * reload: instances that register take traffic, instances that leave stop taking it, and
 * instances of another zone serve only when none of the pool's zone can.
 */
import assert from "node:assert/strict";
import { test } from "node:test";
import { parseConfigText } from "../../src/config/load.js";
import { adminCall, startBackends, startStack } from "../control/helpers.js";
import { waitFor } from "../support/wait.js";

const YAML = `listeners:
  - name: web
    protocol: http
    bind: "127.0.0.1:0"
    default_pool: api
    access_log: false
pools:
  api:
    algorithm: rr
    discovery: { service: api, zone: a }
admin:
  bind: "127.0.0.1:0"
registry:
  self_preservation: false
log: { level: silent }
`;

async function get(url: string): Promise<{ status: number; text: string }> {
  const response = await fetch(url);
  return { status: response.status, text: await response.text() };
}

test("a discovery pool follows registrations and prefers its zone, with no reload", async (t) => {
  const [a1, a2, b1] = await startBackends(3, "i");
  t.after(() => Promise.all([a1, a2, b1].map((b) => b.close())));
  const stack = await startStack(YAML);
  t.after(() => stack.stop());
  const pool = stack.runtime.pools.get("api")!;
  assert.equal(pool.size, 0);
  assert.equal((await get(stack.webUrl)).status, 503, "no instance yet");

  const base = "/api/registry/services/api/instances";
  for (const [backend, zone] of [
    [a1, "a"],
    [a2, "a"],
    [b1, "b"],
  ] as const) {
    const answer = await adminCall(stack, "POST", base, {
      address: backend.address,
      id: backend.name,
      zone,
      ttl: "1m",
    });
    assert.equal(answer.status, 201);
  }
  await waitFor("the pool to follow", () => pool.size === 3);
  const seen = new Set<string>();
  for (let i = 0; i < 6; i++) seen.add((await get(stack.webUrl)).text);
  assert.deepEqual([...seen].sort(), ["i1", "i2"], "zone a serves; zone b is a backup");

  await adminCall(stack, "DELETE", `${base}/i1`);
  await adminCall(stack, "DELETE", `${base}/i2`);
  await waitFor("zone a to leave", () => pool.size === 1);
  assert.equal(
    (await get(stack.webUrl)).text,
    "i3",
    "the other zone serves when the pool's zone has none",
  );
  assert.equal(pool.get("i3")?.source, "discovery");
  assert.equal(stack.runtime.reloads, 0);
});

test("a discovery pool without a registry: section is refused with its path", () => {
  const yaml = YAML.replace("registry:\n  self_preservation: false\n", "");
  assert.throws(
    () => parseConfigText(yaml, "ballast.yaml"),
    /pools\.api\.discovery[\s\S]*no registry: section/,
  );
});
