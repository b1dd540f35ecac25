import assert from "node:assert/strict";
import { test } from "node:test";
import { reloadFromFile } from "../../src/runtime/reload.js";
import { waitFor } from "../support/wait.js";
import { adminCall, httpConfigYaml, startBackends, startStack } from "./helpers.js";

/** Starts a slow request and waits until a backend holds it; returns that backend's id. */
async function slowRequest(
  webUrl: string,
  pool: { backends: readonly { id: string; active: number }[] },
) {
  const answer = fetch(`${webUrl}/slow?delay=400`).then(async (r) => ({
    status: r.status,
    body: await r.text(),
  }));
  await waitFor("the slow request to reach a backend", () =>
    pool.backends.some((b) => b.active > 0),
  );
  const holder = pool.backends.find((b) => b.active > 0)!.id;
  return { answer, holder };
}

test("removing a backend through the API drains it: in-flight work finishes, then it leaves", async (t) => {
  const backends = await startBackends(2);
  const stack = await startStack(
    httpConfigYaml({ pools: { api: { backends } }, defaultPool: "api" }),
  );
  t.after(async () => {
    await stack.stop();
    await Promise.all(backends.map((b) => b.close()));
  });
  const pool = stack.runtime.pools.get("api")!;
  const { answer, holder } = await slowRequest(stack.webUrl, pool);

  const removed = await adminCall(stack, "DELETE", `/api/pools/api/backends/${holder}`);
  assert.equal(removed.status, 202);
  assert.equal(removed.body.draining, true);
  assert.equal(pool.get(holder)?.draining, true, "still in the pool while its request runs");

  // New requests all go to the other backend meanwhile.
  const other = backends.find((b) => b.name !== holder)!.name;
  for (let i = 0; i < 4; i++) {
    const response = await fetch(`${stack.webUrl}/`);
    assert.equal(await response.text(), other);
  }

  assert.deepEqual(await answer, { status: 200, body: holder }, "the in-flight request finished");
  await waitFor("the drained backend to leave", () => pool.get(holder) === undefined);
});

test("a backend removed by a reload drains the same way", async (t) => {
  const backends = await startBackends(2);
  const [b1, b2] = backends;
  const stack = await startStack(
    httpConfigYaml({ pools: { api: { backends } }, defaultPool: "api" }),
  );
  t.after(async () => {
    await stack.stop();
    await Promise.all(backends.map((b) => b.close()));
  });
  const pool = stack.runtime.pools.get("api")!;
  const { answer, holder } = await slowRequest(stack.webUrl, pool);
  const keep = holder === "b1" ? b2 : b1;

  stack.file.write(httpConfigYaml({ pools: { api: { backends: [keep] } }, defaultPool: "api" }));
  const outcome = await reloadFromFile(stack.runtime);
  assert.ok(outcome.ok);
  assert.equal(pool.get(holder)?.draining, true);
  assert.deepEqual(await answer, { status: 200, body: holder });
  await waitFor("the removed backend to leave", () => pool.get(holder) === undefined);
  assert.deepEqual(
    pool.backends.map((b) => b.id),
    [keep.name],
  );
});
