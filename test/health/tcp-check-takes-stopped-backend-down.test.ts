import assert from "node:assert/strict";
import { test } from "node:test";
import { createTcpCheck, startPoolHealth } from "../../src/health/index.js";
import { silentLogger } from "../../src/log.js";
import { Pool } from "../../src/pool/pool.js";
import { waitFor } from "../support/wait.js";
import {
  assertTransitionAfter,
  closeServer,
  healthConfig,
  listenTcp,
  portOf,
  type RecordedResult,
  recordResults,
} from "./helpers.js";

test("a stopped TCP backend goes down after `fall` failed checks and up after `rise`", async (t) => {
  let server = await listenTcp();
  const port = portOf(server);
  const pool = new Pool(
    "tcp",
    [
      { host: "127.0.0.1", port },
      { host: "127.0.0.1", port: 1 },
    ],
    {
      algorithm: "rr",
    },
  );
  const results: RecordedResult[] = [];
  const config = healthConfig({
    type: "tcp",
    interval: 20,
    timeout: 2000,
    jitter: 0,
    rise: 2,
    fall: 3,
  });
  const record = recordResults(results);
  const health = startPoolHealth(pool, config, silentLogger, {
    onResult: (view, result) => {
      if (view.id === `127.0.0.1:${port}`) record(view, result);
    },
  });
  t.after(async () => {
    health.stop();
    pool.close();
    await closeServer(server);
  });

  await waitFor("a first passed check", () => results.some((r) => r.ok));
  assert.equal(pool.get(`127.0.0.1:${port}`)?.health, "up");

  const stoppedAt = results.length;
  await closeServer(server);
  await waitFor("the backend to go down", () => pool.get(`127.0.0.1:${port}`)?.health === "down");
  assertTransitionAfter(results, stoppedAt, false, 3, "down");
  assert.match(results.at(-1)!.detail, /ECONNREFUSED/);
  assert.equal(pool.get(`127.0.0.1:${port}`)?.available, false);

  const restartedAt = results.length;
  server = await listenTcp(port);
  await waitFor("the backend to come back", () => pool.get(`127.0.0.1:${port}`)?.health === "up");
  assertTransitionAfter(results, restartedAt, true, 2, "up");
  assert.equal(pool.get(`127.0.0.1:${port}`)?.available, true);

  // The other backend (port 1, nothing listens) was checked independently and is down.
  assert.equal(pool.get("127.0.0.1:1")?.health, "down");
  const view = health.backend("127.0.0.1:1");
  assert.equal(view?.lastResult, "failed");
  assert.ok((view?.consecutiveFailures ?? 0) >= 3);
  assert.ok(view?.lastChangeAt !== null);
});

test("the TCP check fails with the connect error and times out through its signal", async () => {
  const check = createTcpCheck();
  const refused = await check.check({ host: "127.0.0.1", port: 1 }, new AbortController().signal);
  assert.equal(refused.ok, false);
  assert.match(refused.detail, /ECONNREFUSED/);
  const aborted = await check.check({ host: "127.0.0.1", port: 1 }, AbortSignal.abort());
  assert.equal(aborted.ok, false);
  assert.match(aborted.detail, /timed out/);
});
