import assert from "node:assert/strict";
import { test } from "node:test";
import { waitFor } from "../support/wait.js";
import { adminCall, httpConfigYaml, startBackends, startStack } from "./helpers.js";

const CHECKS =
  "health_check: { type: tcp, interval: 30, timeout: 500, rise: 1, fall: 1, jitter: 0 }";

test("the runtime runs a pool's health checks; a reload that drops them brings held-down backends back", async (t) => {
  const backends = await startBackends(2);
  const [b1, b2] = backends;
  const withChecks = httpConfigYaml({
    pools: { api: { backends, extra: CHECKS } },
    defaultPool: "api",
  });
  const stack = await startStack(withChecks);
  let b2Closed = false;
  t.after(async () => {
    await stack.stop();
    await b1.close();
    if (!b2Closed) await b2.close();
  });
  const pool = stack.runtime.pools.get("api")!;

  await b2.close();
  b2Closed = true;
  await waitFor("the stopped backend to be marked down", () => pool.get("b2")?.health === "down");
  const view = await adminCall(stack, "GET", "/api/pools/api/backends");
  const b2View = view.body.find((b: { id: string }) => b.id === "b2");
  assert.equal(b2View.health, "down");
  assert.equal(b2View.check.lastResult, "failed");
  const metrics = await adminCall(stack, "GET", "/metrics");
  assert.match(
    metrics.body,
    /ballast_health_transitions_total\{pool="api",backend="b2",to="down"\} 1/,
  );

  // Traffic avoids the down backend.
  for (let i = 0; i < 4; i++) {
    const response = await fetch(`${stack.webUrl}/`);
    assert.equal(await response.text(), "b1");
  }

  // Without checks nothing would ever raise b2 again, so dropping them restores it.
  const without = httpConfigYaml({ pools: { api: { backends } }, defaultPool: "api" });
  const answer = await adminCall(stack, "POST", "/api/reload", without);
  assert.equal(answer.status, 200);
  assert.equal(pool.get("b2")?.health, "up");
  const after = await adminCall(stack, "GET", "/api/pools/api/backends");
  assert.equal(after.body[0].check, null);
});

test("passive detection from the pool config suspends a backend whose requests fail", async (t) => {
  const backends = await startBackends(2);
  const [b1, b2] = backends;
  const config = httpConfigYaml({
    pools: { api: { backends, extra: "passive: { max_fails: 1, fail_timeout: 30s }" } },
    defaultPool: "api",
  });
  const stack = await startStack(config);
  t.after(async () => {
    await stack.stop();
    await b1.close();
  });
  const pool = stack.runtime.pools.get("api")!;
  await b2.close();
  // The retry answers the client from b1; the failed attempt on b2 suspends it.
  for (let i = 0; i < 4; i++) {
    const response = await fetch(`${stack.webUrl}/`);
    assert.equal(response.status, 200);
    await response.text();
  }
  assert.ok(pool.get("b2")!.suspendedUntil > 0, "b2 is suspended");
  assert.equal(pool.get("b2")!.available, false);
});
