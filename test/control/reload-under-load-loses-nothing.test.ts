import assert from "node:assert/strict";
import { test } from "node:test";
import { Agent, request } from "undici";
import { reloadFromFile } from "../../src/runtime/reload.js";
import {
  adminCall,
  httpConfigYaml,
  startBackends,
  startStack,
  type TestBackend,
} from "./helpers.js";

const RELOADS = 12;
const CLIENTS = 8;
/** Hard bound on requests per client, so the run ends even if reloads stall. */
const MAX_REQUESTS_PER_CLIENT = 4000;

/** Config number `i` of the cycle: backends and a `/v2` route come and go. */
function variant(i: number, backends: TestBackend[]): string {
  const [b1, b2, b3, b4, v1, v2] = backends;
  const apiSets = [
    [b1, b2],
    [b1, b2, b3],
    [b2, b3, b4],
    [b3, b4],
    [b1, b4],
  ];
  const withRoute = i % 2 === 1;
  const pools: Record<string, { backends: TestBackend[] }> = {
    api: { backends: apiSets[i % apiSets.length] },
  };
  if (withRoute) pools.v2 = { backends: i % 4 === 1 ? [v1] : [v1, v2] };
  return httpConfigYaml({
    pools,
    defaultPool: "api",
    routes: withRoute ? [{ pathPrefix: "/v2", pool: "v2" }] : [],
  });
}

test("at least 10 reloads under a bounded load run lose zero requests", async (t) => {
  const backends = await startBackends(6);
  const stack = await startStack(variant(0, backends));
  // Keep-alive connections to ballast, so reloads also meet idle and busy client connections.
  const agent = new Agent({ connections: CLIENTS, keepAliveTimeout: 10_000 });
  t.after(async () => {
    await agent.close();
    await stack.stop();
    await Promise.all(backends.map((b) => b.close()));
  });

  let reloading = true;
  let ok = 0;
  const failures: string[] = [];
  const client = async (n: number) => {
    for (let i = 0; i < MAX_REQUESTS_PER_CLIENT && reloading; i++) {
      // Some requests are slow, so removed backends still have work in flight when they go.
      const path = `${i % 2 === 0 ? "/v2/x" : "/x"}${i % 7 === n % 7 ? "?delay=30" : ""}`;
      try {
        const response = await request(`${stack.webUrl}${path}`, { dispatcher: agent });
        const body = await response.body.text();
        if (response.statusCode === 200 && /^b\d$/.test(body)) ok++;
        else failures.push(`${path}: ${response.statusCode} ${body.slice(0, 80)}`);
      } catch (error) {
        failures.push(`${path}: ${(error as Error).message}`);
      }
    }
  };
  const load = Promise.all(Array.from({ length: CLIENTS }, (_, n) => client(n)));

  const applied: string[] = [];
  for (let i = 1; i <= RELOADS; i++) {
    const before = ok;
    // Let some requests through between reloads (bounded wait, never an assertion on time).
    for (let spin = 0; spin < 400 && ok < before + 100; spin++) {
      await new Promise((resolve) => setTimeout(resolve, 5));
    }
    const text = variant(i, backends);
    if (i % 3 === 0) {
      const answer = await adminCall(stack, "POST", "/api/reload", text);
      assert.equal(answer.status, 200, JSON.stringify(answer.body));
    } else {
      stack.file.write(text);
      const outcome = await reloadFromFile(stack.runtime);
      assert.ok(outcome.ok, JSON.stringify(outcome));
    }
    applied.push([...stack.runtime.pools.keys()].join(","));
  }
  // A last stretch of traffic on the final config, then stop the clients.
  const settled = ok;
  for (let spin = 0; spin < 200 && ok < settled + 50; spin++) {
    await new Promise((resolve) => setTimeout(resolve, 5));
  }
  reloading = false;
  await load;

  t.diagnostic(`${ok} requests over ${RELOADS} reloads, ${failures.length} failed`);
  assert.equal(stack.runtime.reloads, RELOADS);
  assert.ok(
    applied.includes("api,v2") && applied.includes("api"),
    "the route's pool came and went",
  );
  assert.deepEqual(failures, [], `${failures.length} of ${ok + failures.length} requests failed`);
  assert.ok(ok >= RELOADS * 50, `only ${ok} requests completed`);
  // Every backend that left the config has drained out of its pool once its work ended.
  assert.deepEqual(
    stack.runtime.pools.get("api")!.backends.map((b) => b.id),
    ["b2", "b3", "b4"],
  );
  assert.equal(stack.runtime.pools.get("v2"), undefined);
});
