/**
 * Pool heartbeat leases are registry registrations: a backend that registers into pool P
 * through `POST /api/pools/P/heartbeats` is an instance of the registry service `pool:P`, so
 * it shows in the registry, its watchers hear it, the registry's expiry takes it out of the
 * pool, and a deregistration through the registry API drains it from the pool.
 */
import assert from "node:assert/strict";
import { test } from "node:test";
import { adminCall, httpConfigYaml, startBackends, startStack } from "../control/helpers.js";
import { waitFor } from "../support/wait.js";

test("a pool heartbeat is an instance of the registry service pool:POOL", async (t) => {
  const backends = await startBackends(2);
  t.after(() => Promise.all(backends.map((b) => b.close())));
  const yaml = httpConfigYaml({
    pools: { api: { backends: [backends[0]] } },
    defaultPool: "api",
    admin: {},
  });
  const stack = await startStack(`${yaml}registry:\n  min_ttl: 50\n  self_preservation: false\n`);
  t.after(() => stack.stop());
  const pool = stack.runtime.pools.get("api")!;

  // A long-poll on the service, waiting for its first change.
  const waiting = adminCall(stack, "GET", "/api/registry/services/pool:api?index=0&wait=10s");
  const registered = await adminCall(stack, "POST", "/api/pools/api/heartbeats", {
    address: backends[1].address,
    name: "beat",
    ttl: "2s",
  });
  assert.equal(registered.status, 201, JSON.stringify(registered.body));
  assert.equal(pool.get("beat")?.source, "registry");
  const heard = await waiting;
  assert.deepEqual(
    heard.body.instances.map((i: { id: string }) => i.id),
    ["beat"],
    "the registry's watchers hear the heartbeat registration",
  );
  const services = await adminCall(stack, "GET", "/api/registry/services");
  assert.ok(services.body.services.some((s: { service: string }) => s.service === "pool:api"));

  // Traffic reaches it like any backend.
  const seen = new Set<string>();
  for (let i = 0; i < 6; i++) {
    const answer = await fetch(`${stack.webUrl}/x`);
    seen.add(await answer.text());
  }
  assert.equal(seen.size, 2, "both the configured and the registered backend serve");

  // No renewal: the registry's own expiry takes it out of the pool, with no sweep call.
  await waitFor("the lease to run out", () => pool.get("beat") === undefined, 5000);
  const late = await adminCall(stack, "POST", "/api/pools/api/heartbeats/beat/renew");
  assert.equal(late.status, 404);

  // Registered again, then deregistered through the registry API: the pool follows.
  await adminCall(stack, "POST", "/api/pools/api/heartbeats", {
    address: backends[1].address,
    name: "beat",
    ttl: "1m",
  });
  assert.ok(pool.get("beat"));
  const left = await adminCall(stack, "DELETE", "/api/registry/services/pool:api/instances/beat");
  assert.equal(left.status, 200);
  assert.equal(pool.get("beat"), undefined, "an idle backend drains out at once");
  assert.deepEqual(
    pool.backends.map((b) => b.id),
    ["b1"],
    "configured backends are never touched",
  );
});
