import assert from "node:assert/strict";
import { test } from "node:test";
import { createPingCheck, startPoolHealth } from "../../src/health/index.js";
import { silentLogger } from "../../src/log.js";
import { Pool } from "../../src/pool/pool.js";
import { waitFor } from "../support/wait.js";
import {
  assertTransitionAfter,
  healthConfig,
  type RecordedResult,
  recordResults,
} from "./helpers.js";

test("the ping check passes for the IPv4 and IPv6 loopback addresses", async () => {
  const check = createPingCheck(1000);
  for (const host of ["127.0.0.1", "::1"]) {
    const result = await check.check({ host, port: 0 }, new AbortController().signal);
    assert.equal(result.ok, true, `${host}: ${result.detail}`);
    assert.match(result.detail, /^reply in [\d.]+ ms$/);
  }
});

test("a ping check through a broken address override goes down after `fall`, and back after `rise`", async (t) => {
  const pool = new Pool("l3", [{ host: "127.0.0.1", port: 80 }], { algorithm: "rr" });
  const results: RecordedResult[] = [];
  const config = healthConfig({ type: "ping", interval: 20, timeout: 2000, rise: 2, fall: 2 });
  const health = startPoolHealth(pool, config, silentLogger, { onResult: recordResults(results) });
  t.after(() => {
    health.stop();
    pool.close();
  });
  await waitFor("a first answered ping", () => results.some((r) => r.ok));

  // 0.0.0.1 is refused by the local stack at once: a failure that never leaves the host.
  let from = results.length;
  health.update({ ...config, address: "0.0.0.1" });
  await waitFor("down", () => pool.get("127.0.0.1:80")?.health === "down");
  assertTransitionAfter(results, from, false, 2, "down");
  assert.equal(health.backend("127.0.0.1:80")?.target, "0.0.0.1:80");
  assert.match(results.at(-1)!.detail, /no reply \(100% packet loss\)/);

  from = results.length;
  health.update(config);
  await waitFor("up", () => pool.get("127.0.0.1:80")?.health === "up");
  assertTransitionAfter(results, from, true, 2, "up");
});

test("an aborted ping fails", async () => {
  const result = await createPingCheck(1000).check(
    { host: "127.0.0.1", port: 0 },
    AbortSignal.abort(),
  );
  assert.equal(result.ok, false);
});
