import assert from "node:assert/strict";
import { connect } from "node:net";
import { test } from "node:test";
import { diffConfigs } from "../../src/runtime/diff.js";
import { waitFor } from "../support/wait.js";
import { adminCall, httpConfigYaml, startBackends, startStack } from "./helpers.js";

test("backends that stay keep their health, counters and admin state across a reload", async (t) => {
  const backends = await startBackends(3);
  const [b1, b2, b3] = backends;
  const stack = await startStack(
    httpConfigYaml({ pools: { api: { backends: [b1, b2] } }, defaultPool: "api" }),
  );
  t.after(async () => {
    await stack.stop();
    await Promise.all(backends.map((b) => b.close()));
  });
  for (let i = 0; i < 6; i++) {
    const response = await fetch(`${stack.webUrl}/`);
    assert.equal(response.status, 200);
    await response.text();
  }
  const pool = stack.runtime.pools.get("api")!;
  const first = pool.get("b1")!;
  const second = pool.get("b2")!;
  const requestsBefore = [first.counters.requests, second.counters.requests];
  assert.equal(requestsBefore[0] + requestsBefore[1], 6);
  pool.setHealth("b2", "down", "test: marked down before the reload");
  await adminCall(stack, "POST", "/api/pools/api/backends/b1/disable");

  // The new config: b3 joins, b2's weight changes, the algorithm changes.
  const next = httpConfigYaml({
    pools: { api: { backends: [b1, b2, b3], algorithm: "wlc" } },
    defaultPool: "api",
  }).replace(`address: "${b2.address}" }`, `address: "${b2.address}", weight: 4 }`);
  const answer = await adminCall(stack, "POST", "/api/reload", next);
  assert.equal(answer.status, 200, JSON.stringify(answer.body));
  assert.deepEqual(answer.body.summary.backendsAdded, ["api/b3"]);
  assert.deepEqual(answer.body.summary.backendsChanged, ["api/b2"]);

  assert.equal(stack.runtime.pools.get("api"), pool, "the pool is reconfigured in place");
  assert.equal(pool.algorithm, "wlc");
  assert.equal(pool.get("b1"), first, "the same live backend object");
  assert.equal(pool.get("b2"), second);
  assert.deepEqual([first.counters.requests, second.counters.requests], requestsBefore);
  assert.equal(second.health, "down");
  assert.equal(second.configuredWeight, 4);
  assert.equal(first.enabled, false, "an admin disable outlives a reload");
  assert.ok(pool.get("b3"));

  // Only b3 is available now, so it takes the traffic.
  const response = await fetch(`${stack.webUrl}/`);
  assert.equal(await response.text(), "b3");
});

test("the diff names added, removed and changed pools, backends and listeners", () => {
  const base = {
    listeners: [{ name: "web", protocol: "http", bind: { host: "127.0.0.1", port: 80 } }],
    pools: {
      a: { algorithm: "rr", backends: [{ name: "x", address: { host: "h", port: 1 }, weight: 1 }] },
      gone: { algorithm: "rr", backends: [] },
    },
  };
  const next = {
    listeners: [
      { name: "web", protocol: "http", bind: { host: "127.0.0.1", port: 81 } },
      { name: "new", protocol: "tcp", bind: { host: "127.0.0.1", port: 82 } },
    ],
    pools: {
      a: {
        algorithm: "rr",
        backends: [
          { name: "x", address: { host: "h", port: 1 }, weight: 2 },
          { address: { host: "h", port: 2 }, weight: 1 },
        ],
      },
      fresh: { algorithm: "rr", backends: [] },
    },
  };
  // biome-ignore lint/suspicious/noExplicitAny: partial configs are enough for the diff
  const diff = diffConfigs(base as any, next as any);
  assert.deepEqual(diff.pools.added, ["fresh"]);
  assert.deepEqual(diff.pools.removed, ["gone"]);
  assert.equal(diff.pools.changed.length, 1);
  assert.equal(diff.pools.changed[0].settingsChanged, false);
  assert.deepEqual(
    diff.pools.changed[0].backends.added.map((b) => b.address.port),
    [2],
  );
  assert.deepEqual(
    diff.pools.changed[0].backends.changed.map((b) => b.name),
    ["x"],
  );
  assert.deepEqual(
    diff.listeners.replaced.map((l) => l.name),
    ["web"],
    "a new bind replaces the listener",
  );
  assert.deepEqual(
    diff.listeners.added.map((l) => l.name),
    ["new"],
  );
});

test("an idle keep-alive client connection survives a reload that changes routes and pools", async (t) => {
  const backends = await startBackends(2);
  const [b1, b2] = backends;
  const stack = await startStack(
    httpConfigYaml({ pools: { api: { backends: [b1] } }, defaultPool: "api" }),
  );
  const socket = connect(Number(new URL(stack.webUrl).port), "127.0.0.1");
  t.after(async () => {
    socket.destroy();
    await stack.stop();
    await Promise.all(backends.map((b) => b.close()));
  });
  let received = "";
  socket.setEncoding("utf8");
  socket.on("data", (chunk: string) => {
    received += chunk;
  });
  let closed = false;
  socket.on("close", () => {
    closed = true;
  });
  const ask = async (path: string) => {
    const start = received.length;
    socket.write(`GET ${path} HTTP/1.1\r\nhost: test\r\n\r\n`);
    // The test backends answer chunked: the body ends with the zero-length chunk.
    await waitFor(`an answer to ${path}`, () => /b\d\r\n0\r\n\r\n$/.test(received.slice(start)));
    return received.slice(start).replace(/\r\n0\r\n\r\n$/, "");
  };
  assert.match(await ask("/"), /^HTTP\/1\.1 200[\s\S]*b1$/);

  const next = httpConfigYaml({
    pools: { api: { backends: [b1] }, other: { backends: [b2] } },
    defaultPool: "api",
    routes: [{ pathPrefix: "/other", pool: "other" }],
  });
  const answer = await adminCall(stack, "POST", "/api/reload", next);
  assert.equal(answer.status, 200);
  assert.deepEqual(answer.body.summary.listenersUpdated, ["web"]);

  // The same connection, idle during the reload, now follows the new routes.
  assert.match(await ask("/other/x"), /b2$/);
  assert.match(await ask("/"), /b1$/);
  assert.equal(closed, false);
});
