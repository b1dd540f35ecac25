import assert from "node:assert/strict";
import { test } from "node:test";
import { createSendExpectCheck, startPoolHealth, unescapeBytes } from "../../src/health/index.js";
import { silentLogger } from "../../src/log.js";
import { Pool } from "../../src/pool/pool.js";
import { startRedis } from "../support/servers.js";
import { waitFor } from "../support/wait.js";
import {
  assertTransitionAfter,
  healthConfig,
  type RecordedResult,
  recordResults,
} from "./helpers.js";

test("a send-expect check (PING / +PONG) follows a real redis-server going away and back", async (t) => {
  let redis = await startRedis();
  const port = redis.port;
  const pool = new Pool("cache", [{ host: "127.0.0.1", port }], { algorithm: "rr" });
  const results: RecordedResult[] = [];
  const config = healthConfig({
    type: "send-expect",
    interval: 20,
    timeout: 1000,
    rise: 2,
    fall: 2,
    send: "PING\\r\\n",
    expect: "^\\+PONG\\r\\n",
  });
  const health = startPoolHealth(pool, config, silentLogger, { onResult: recordResults(results) });
  t.after(async () => {
    health.stop();
    pool.close();
    await redis.stop();
  });
  const id = `127.0.0.1:${port}`;
  await waitFor("a first PONG", () => results.some((r) => r.ok));
  assert.match(results.find((r) => r.ok)!.detail, /\+PONG/);

  let from = results.length;
  await redis.stop();
  await waitFor("down once redis is gone", () => pool.get(id)?.health === "down");
  assertTransitionAfter(results, from, false, 2, "down");

  from = results.length;
  redis = await startRedis({ port });
  await waitFor("up once redis is back", () => pool.get(id)?.health === "up");
  assertTransitionAfter(results, from, true, 2, "up");
});

test("a reply that does not match fails with what was received", async (t) => {
  const redis = await startRedis();
  const port = redis.port;
  t.after(() => redis.stop());
  const check = createSendExpectCheck({ send: "PING\\r\\n", expect: "^\\+HELLO" });
  const controller = new AbortController();
  const timer = setTimeout(() => controller.abort(), 200);
  const result = await check.check({ host: "127.0.0.1", port }, controller.signal);
  clearTimeout(timer);
  assert.equal(result.ok, false);
  assert.match(result.detail, /no match in "\+PONG\\r\\n"/);
});

test("send escapes turn into the bytes they name", () => {
  assert.deepEqual(
    [...unescapeBytes("A\\r\\n\\t\\x00\\x7f\\\\z")],
    [65, 13, 10, 9, 0, 127, 92, 122],
  );
});
