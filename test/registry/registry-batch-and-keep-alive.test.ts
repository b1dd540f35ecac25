/**
 * Registration throughput: many registrations and renewals travel in one batch call, each
 * item answered on its own; and the admin API keeps idle connections open longer than
 * undici's keep-alive margin, so instances renewing through `fetch` reuse their connection.
 */
import assert from "node:assert/strict";
import { test } from "node:test";
import { Pool } from "undici";
import { adminCall, httpConfigYaml, startBackends, startStack } from "../control/helpers.js";

async function registryStack() {
  const backends = await startBackends(1);
  const yaml = httpConfigYaml({ pools: { web: { backends } }, defaultPool: "web", admin: {} });
  await Promise.all(backends.map((b) => b.close()));
  return startStack(`${yaml}registry:\n  min_ttl: 50\n  self_preservation: false\n`);
}

test("a batch registers and renews many instances, answering each item on its own", async (t) => {
  const stack = await registryStack();
  t.after(() => stack.stop());
  const register = Array.from({ length: 300 }, (_, i) => ({
    service: `s${i % 3}`,
    address: `10.0.${i >> 8}.${i & 255}:8080`,
    id: `i${i}`,
    ttl: "1m",
  }));
  // One bad item (a TTL under min_ttl) is refused alone; the others register.
  register.push({ service: "s0", address: "10.9.9.9:80", id: "too-short", ttl: "10ms" });
  const first = await adminCall(stack, "POST", "/api/registry/batch", { register });
  assert.equal(first.status, 200, JSON.stringify(first.body).slice(0, 300));
  assert.equal(first.body.registered.length, 301);
  assert.equal(first.body.registered.filter((r: { error?: string }) => r.error).length, 1);
  assert.match(first.body.registered[300].error, /ttl must be between/);
  const store = stack.runtime.registry!.store;
  assert.deepEqual(
    store.list().map((s) => [s.service, s.instances]),
    [
      ["s0", 100],
      ["s1", 100],
      ["s2", 100],
    ],
  );

  const before = store.leases("s1").find((l) => l.id === "i1")!.expiresAt;
  await new Promise((r) => setTimeout(r, 20));
  const renewed = await adminCall(stack, "POST", "/api/registry/batch", {
    renew: [
      { service: "s1", id: "i1" },
      { service: "s1", id: "nobody" },
    ],
  });
  assert.equal(renewed.status, 200);
  assert.ok(renewed.body.renewed[0].expiresAt > before, "the lease was extended");
  assert.match(renewed.body.renewed[1].error, /register again/);

  const bad = await adminCall(stack, "POST", "/api/registry/batch", { register: "no" });
  assert.equal(bad.status, 400);
  assert.ok(bad.body.example, "a bad batch is answered with an example");
  const anonymous = await adminCall(stack, "POST", "/api/registry/batch", { renew: [] }, null);
  assert.equal(anonymous.status, 401, "a batch changes state: it needs the token");
});

test("the admin API keeps idle connections longer than undici's keep-alive margin", async (t) => {
  const stack = await registryStack();
  t.after(() => stack.stop());
  await adminCall(stack, "POST", "/api/registry/services/api/instances", {
    address: "127.0.0.1:7001",
    id: "api-1",
    ttl: "1m",
  });
  const pool = new Pool(stack.adminUrl, { connections: 1 });
  t.after(() => pool.close());
  let connections = 0;
  pool.on("connect", () => connections++);
  const renew = async () => {
    const answer = await pool.request({
      method: "POST",
      path: "/api/registry/services/api/instances/api-1/renew",
      headers: { authorization: `Bearer ${stack.token}` },
    });
    await answer.body.dump();
    assert.equal(answer.statusCode, 200);
    return answer.headers["keep-alive"];
  };
  const announced = await renew();
  // undici stops reusing a connection 2 s before the announced timeout.
  const seconds = Number(/timeout=(\d+)/.exec(String(announced))?.[1]);
  assert.ok(seconds > 2 + 10, `keep-alive ${announced} leaves room for renewals every 10 s`);
  await new Promise((r) => setTimeout(r, 300));
  await renew();
  assert.equal(connections, 1, "the second renewal reused the connection");
});
