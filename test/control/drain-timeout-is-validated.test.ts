/** The admin API's drain takes an optional cap, `?timeout=30s`; a bad one is a 400 that says what is valid. */
import assert from "node:assert/strict";
import { test } from "node:test";
import { adminCall, httpConfigYaml, startBackends, startStack } from "./helpers.js";

test("drain ?timeout= accepts a duration and refuses nonsense with a clear 400", async (t) => {
  const backends = await startBackends(2);
  const stack = await startStack(
    httpConfigYaml({ pools: { api: { backends } }, defaultPool: "api" }),
  );
  t.after(async () => {
    await stack.stop();
    await Promise.all(backends.map((b) => b.close()));
  });
  for (const bad of ["soon", "-1s", "0", "2d"]) {
    const refused = await adminCall(
      stack,
      "POST",
      `/api/pools/api/backends/b1/drain?timeout=${bad}`,
    );
    assert.equal(refused.status, 400, bad);
    assert.match(refused.body.error, /timeout: expected a duration above 0/);
  }
  assert.equal(stack.runtime.pools.get("api")!.get("b1")!.draining, false, "refused: no drain");
  const drained = await adminCall(stack, "POST", "/api/pools/api/backends/b1/drain?timeout=30s");
  assert.equal(drained.status, 200);
  assert.equal(drained.body.draining, true);
});
