import assert from "node:assert/strict";
import { createServer, type IncomingHttpHeaders } from "node:http";
import { test } from "node:test";
import { createHttpCheck, startPoolHealth } from "../../src/health/index.js";
import { parseStatusRanges, statusInRanges } from "../../src/health/status-ranges.js";
import { silentLogger } from "../../src/log.js";
import { Pool } from "../../src/pool/pool.js";
import { waitFor } from "../support/wait.js";
import {
  assertTransitionAfter,
  closeServer,
  healthConfig,
  portOf,
  type RecordedResult,
  recordResults,
} from "./helpers.js";

/** A backend whose health page answers what the test sets. */
async function startHealthPage() {
  const state = {
    status: 200,
    body: "OK ready",
    seen: [] as IncomingHttpHeaders[],
    paths: [] as string[],
  };
  const server = createServer((request, response) => {
    state.seen.push(request.headers);
    state.paths.push(`${request.method} ${request.url}`);
    response.writeHead(state.status, { "content-type": "text/plain" });
    response.end(state.body);
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  return { server, state, port: portOf(server) };
}

test("an HTTP check takes a backend down on a bad status or body after `fall`, up after `rise`", async (t) => {
  const { server, state, port } = await startHealthPage();
  const pool = new Pool("web", [{ host: "127.0.0.1", port }], { algorithm: "rr" });
  const results: RecordedResult[] = [];
  const config = healthConfig({
    type: "http",
    interval: 15,
    timeout: 2000,
    jitter: 0.2,
    rise: 2,
    fall: 2,
    method: "HEAD",
    path: "/healthz?full=1",
    host: "api.example.test",
    headers: { "x-check": "ballast" },
    expect_status: ["2xx", 304],
  });
  const health = startPoolHealth(
    pool,
    { ...config, method: "GET", expect_body: "^OK" },
    silentLogger,
    {
      onResult: recordResults(results),
    },
  );
  t.after(async () => {
    health.stop();
    pool.close();
    await closeServer(server);
  });
  const id = `127.0.0.1:${port}`;
  await waitFor("a first passed check", () => results.some((r) => r.ok));
  assert.equal(state.seen[0].host, "api.example.test");
  assert.equal(state.seen[0]["x-check"], "ballast");
  assert.equal(state.paths[0], "GET /healthz?full=1");

  // Status still 200, but the body says the backend is not ready.
  let from = results.length;
  state.body = "DEGRADED";
  await waitFor("down on a body mismatch", () => pool.get(id)?.health === "down");
  assertTransitionAfter(results, from, false, 2, "down");
  assert.match(results.at(-1)!.detail, /body did not match/);

  from = results.length;
  state.body = "OK again";
  await waitFor("up again", () => pool.get(id)?.health === "up");
  assertTransitionAfter(results, from, true, 2, "up");

  from = results.length;
  state.status = 503;
  await waitFor("down on a 503", () => pool.get(id)?.health === "down");
  assertTransitionAfter(results, from, false, 2, "down");
  assert.match(results.at(-1)!.detail, /status 503/);

  // A config change in place: 503 now counts as healthy, so it comes back without a restart.
  from = results.length;
  health.update({ ...config, expect_status: ["200-299", "503"] });
  await waitFor("up under the new config", () => pool.get(id)?.health === "up");
  assertTransitionAfter(results, from, true, 2, "up");
  assert.equal(state.paths.at(-1), "HEAD /healthz?full=1");
});

test("the HTTP check fails a backend that does not answer within the timeout", async (t) => {
  const server = createServer(() => {
    // Never answers.
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  t.after(() => closeServer(server));
  const check = createHttpCheck({});
  const controller = new AbortController();
  const timer = setTimeout(() => controller.abort(), 50);
  const result = await check.check({ host: "127.0.0.1", port: portOf(server) }, controller.signal);
  clearTimeout(timer);
  assert.equal(result.ok, false);
  assert.match(result.detail, /timed out/);
});

test("status ranges accept single statuses, ranges and classes", () => {
  const ranges = parseStatusRanges([204, "300-302", "4xx"]);
  assert.deepEqual(
    [204, 205, 299, 300, 302, 303, 400, 499, 500].map((s) => statusInRanges(s, ranges)),
    [true, false, false, true, true, false, true, true, false],
  );
  assert.throws(() => parseStatusRanges(["399-300"]), /ends before it starts/);
});
