import assert from "node:assert/strict";
import { test } from "node:test";
import { Script } from "node:vm";
import { waitFor } from "../support/wait.js";
import {
  adminCall,
  httpConfigYaml,
  type Stack,
  startBackends,
  startStack,
  type TestBackend,
} from "./helpers.js";

async function setup(t: { after(fn: () => Promise<void>): void }, token?: string) {
  const backends: TestBackend[] = await startBackends(3);
  const stack: Stack = await startStack(
    httpConfigYaml({ pools: { api: { backends: backends.slice(0, 2) } }, defaultPool: "api" }),
    { token },
  );
  t.after(async () => {
    await stack.stop();
    await Promise.all(backends.map((b) => b.close()));
  });
  return { backends, stack };
}

test("with a token configured, every API call and /metrics need it; the dashboard page does not", async (t) => {
  const { stack } = await setup(t, "s3cret");
  const missing = await adminCall(stack, "GET", "/api/pools", undefined, null);
  assert.equal(missing.status, 401);
  assert.match(missing.body.error, /Bearer/);
  assert.equal((await adminCall(stack, "GET", "/api/pools", undefined, "wrong")).status, 401);
  assert.equal((await adminCall(stack, "GET", "/metrics", undefined, "s3cre")).status, 401);
  assert.equal((await adminCall(stack, "POST", "/api/reload", "", "nope")).status, 401);
  const ok = await adminCall(stack, "GET", "/api/pools", undefined, "s3cret");
  assert.equal(ok.status, 200);
  assert.deepEqual(
    ok.body.map((p: { name: string }) => p.name),
    ["api"],
  );
  const page = await fetch(`${stack.adminUrl}/`);
  assert.equal(page.status, 200);
  const html = await page.text();
  assert.match(html, /<title>ballast<\/title>/);
  // The page is self-contained: its one script compiles and it loads nothing from elsewhere.
  const script = /<script>([\s\S]*)<\/script>/.exec(html)?.[1] ?? "";
  assert.doesNotThrow(() => new Script(script));
  assert.match(script, /fetch\(path/);
  assert.doesNotMatch(html, /src=|href=/);
});

test("add, weight, drain, disable, enable and remove a backend through the API", async (t) => {
  const { backends, stack } = await setup(t);
  const pool = stack.runtime.pools.get("api")!;

  const added = await adminCall(stack, "POST", "/api/pools/api/backends", {
    address: backends[2].address,
    name: "b3",
    weight: 3,
  });
  assert.equal(added.status, 201);
  assert.equal(added.body.id, "b3");
  assert.equal(added.body.source, "api");
  assert.equal(pool.get("b3")?.configuredWeight, 3);

  const duplicate = await adminCall(stack, "POST", "/api/pools/api/backends", {
    address: backends[2].address,
    name: "b3",
  });
  assert.equal(duplicate.status, 409);

  const weighted = await adminCall(stack, "PUT", "/api/pools/api/backends/b1/weight", {
    weight: 7,
  });
  assert.equal(weighted.status, 200);
  assert.equal(weighted.body.weight, 7);
  assert.equal(pool.get("b1")?.configuredWeight, 7);

  const drained = await adminCall(stack, "POST", "/api/pools/api/backends/b2/drain");
  assert.equal(drained.body.draining, true);
  assert.equal(pool.get("b2")?.available, false);

  const disabled = await adminCall(stack, "POST", "/api/pools/api/backends/b1/disable");
  assert.equal(disabled.body.enabled, false);
  assert.equal(pool.get("b1")?.available, false);

  const enabled = await adminCall(stack, "POST", "/api/pools/api/backends/b2/enable");
  assert.equal(enabled.body.enabled, true);
  assert.equal(enabled.body.draining, false, "enable ends a drain");

  const removed = await adminCall(stack, "DELETE", "/api/pools/api/backends/b3");
  assert.equal(removed.status, 200, "an idle backend leaves at once");
  assert.equal(pool.get("b3"), undefined);

  const list = await adminCall(stack, "GET", "/api/pools/api/backends");
  assert.deepEqual(
    list.body.map((b: { id: string }) => b.id),
    ["b1", "b2"],
  );
});

test("bad input gets a clear 4xx JSON answer", async (t) => {
  const { stack } = await setup(t);
  const badAddress = await adminCall(stack, "POST", "/api/pools/api/backends", {
    address: "nohost",
  });
  assert.equal(badAddress.status, 400);
  assert.equal(badAddress.body.error, "invalid backend");
  assert.match(badAddress.body.errors.join("\n"), /address/);

  const badJson = await adminCall(stack, "POST", "/api/pools/api/backends", "{not json");
  assert.equal(badJson.status, 400);
  assert.match(badJson.body.error, /not valid JSON/);

  const badWeight = await adminCall(stack, "PUT", "/api/pools/api/backends/b1/weight", {
    weight: -1,
  });
  assert.equal(badWeight.status, 400);
  assert.match(badWeight.body.errors.join("\n"), /weight/);

  const noPool = await adminCall(stack, "GET", "/api/pools/nope");
  assert.equal(noPool.status, 404);
  assert.deepEqual(noPool.body.pools, ["api"]);

  const noBackend = await adminCall(stack, "POST", "/api/pools/api/backends/zz/drain");
  assert.equal(noBackend.status, 404);
  assert.deepEqual(noBackend.body.backends, ["b1", "b2"]);

  assert.equal((await adminCall(stack, "PATCH", "/api/pools")).status, 405);
  assert.equal((await adminCall(stack, "GET", "/api/nothing")).status, 404);
});

test("a backend registers and renews a heartbeat lease through the API; an unrenewed one leaves", async (t) => {
  const { backends, stack } = await setup(t);
  const pool = stack.runtime.pools.get("api")!;
  const registered = await adminCall(stack, "POST", "/api/pools/api/heartbeats", {
    address: backends[2].address,
    name: "beat",
    ttl: "1s",
  });
  assert.equal(registered.status, 201);
  assert.equal(registered.body.id, "beat");
  assert.equal(pool.get("beat")?.source, "registry");

  const listed = await adminCall(stack, "GET", "/api/heartbeats");
  assert.deepEqual(
    listed.body.map((l: { id: string }) => l.id),
    ["beat"],
  );

  // Renew a few times, each well before the TTL runs out: the backend stays.
  let expiresAt = registered.body.expiresAt;
  for (let i = 0; i < 3; i++) {
    await new Promise((resolve) => setTimeout(resolve, 20));
    const renewed = await adminCall(stack, "POST", "/api/pools/api/heartbeats/beat/renew");
    assert.equal(renewed.status, 200);
    assert.ok(renewed.body.expiresAt >= expiresAt);
    expiresAt = renewed.body.expiresAt;
  }
  assert.ok(pool.get("beat"));
  assert.equal(stack.runtime.heartbeats.sweep(), 0, "a renewed lease is not collected");

  // Stop renewing: once the TTL has passed the lease is collected and a late renew refused.
  await waitFor("the lease to run out", () => Date.now() > expiresAt + 5);
  stack.runtime.heartbeats.sweep();
  assert.equal(pool.get("beat"), undefined);
  const late = await adminCall(stack, "POST", "/api/pools/api/heartbeats/beat/renew");
  assert.equal(late.status, 404);
  assert.match(late.body.error, /register again/);

  const conflict = await adminCall(stack, "POST", "/api/pools/api/heartbeats", {
    address: backends[0].address,
    name: "b1",
    ttl: 1000,
  });
  assert.equal(conflict.status, 409, "a configured backend's id cannot be taken by a lease");
  const badTtl = await adminCall(stack, "POST", "/api/pools/api/heartbeats", {
    address: backends[2].address,
  });
  assert.equal(badTtl.status, 400);
});

test("/metrics exposes per-backend series in Prometheus format", async (t) => {
  const { stack } = await setup(t);
  for (let i = 0; i < 4; i++) {
    const response = await fetch(`${stack.webUrl}/m`);
    await response.text();
    assert.equal(response.status, 200);
  }
  stack.runtime.pools.get("api")!.setHealth("b2", "down", "test");
  const metrics = await adminCall(stack, "GET", "/metrics");
  assert.equal(metrics.status, 200);
  const text = metrics.body as string;
  const value = (series: string) => {
    const line = text.split("\n").find((l) => l.startsWith(`${series} `));
    assert.ok(line, `missing series ${series}`);
    return Number(line.split(" ")[1]);
  };
  const requests =
    value('ballast_backend_requests_total{pool="api",backend="b1"}') +
    value('ballast_backend_requests_total{pool="api",backend="b2"}');
  assert.equal(requests, 4);
  assert.equal(value('ballast_backend_up{pool="api",backend="b2"}'), 0);
  assert.equal(value('ballast_backend_active_connections{pool="api",backend="b1"}'), 0);
  assert.equal(value('ballast_health_transitions_total{pool="api",backend="b2",to="down"}'), 1);
  assert.equal(value('ballast_pool_backends{pool="api",state="total"}'), 2);
  assert.match(text, /# TYPE ballast_backend_requests_total counter/);
  assert.match(text, /ballast_listener_requests_total\{listener="web",protocol="http"/);
});
