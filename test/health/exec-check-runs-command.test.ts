import assert from "node:assert/strict";
import { readFileSync, rmSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { test } from "node:test";
import { createExecCheck, startPoolHealth, substitute } from "../../src/health/index.js";
import { silentLogger } from "../../src/log.js";
import { Pool } from "../../src/pool/pool.js";
import { tempDir } from "../support/temp-dir.js";
import { waitFor } from "../support/wait.js";
import {
  assertTransitionAfter,
  healthConfig,
  type RecordedResult,
  recordResults,
} from "./helpers.js";

test("an exec check (MISC_CHECK) follows the command's exit status, with {host} and {port}", async (t) => {
  const dir = tempDir("exec");
  const script = join(dir.path, "check.sh");
  // Healthy while a flag file named after the backend's address exists.
  writeFileSync(script, '#!/bin/sh\ntest -e "$1/up-$2-$3" && echo "ok $2:$3"\n');
  const flag = join(dir.path, "up-127.0.0.1-7001");
  writeFileSync(flag, "");
  const pool = new Pool("misc", [{ host: "127.0.0.1", port: 7001 }], { algorithm: "rr" });
  const results: RecordedResult[] = [];
  const config = healthConfig({
    type: "exec",
    interval: 20,
    timeout: 2000,
    rise: 2,
    fall: 3,
    command: ["sh", script, dir.path, "{host}", "{port}"],
  });
  const health = startPoolHealth(pool, config, silentLogger, { onResult: recordResults(results) });
  t.after(() => {
    health.stop();
    pool.close();
    dir.cleanup();
  });
  await waitFor("a first passed check", () => results.some((r) => r.ok));
  assert.equal(results.find((r) => r.ok)!.detail, "exit 0: ok 127.0.0.1:7001");

  let from = results.length;
  rmSync(flag);
  await waitFor("down when the command fails", () => pool.get("127.0.0.1:7001")?.health === "down");
  assertTransitionAfter(results, from, false, 3, "down");
  assert.equal(results.at(-1)!.detail, "exit 1");

  from = results.length;
  writeFileSync(flag, "");
  await waitFor("up when it passes again", () => pool.get("127.0.0.1:7001")?.health === "up");
  assertTransitionAfter(results, from, true, 2, "up");
});

test("a command that outlives its timeout is killed with its children", async (t) => {
  const dir = tempDir("exec");
  t.after(() => dir.cleanup());
  const pidFile = join(dir.path, "pid");
  const check = createExecCheck(["sh", "-c", `sleep 30 & echo $! > ${pidFile}; wait`]);
  const controller = new AbortController();
  // Abort only once the grandchild exists, so the test is about killing it.
  const watcher = setInterval(() => {
    try {
      if (readFileSync(pidFile, "utf8").trim() !== "") controller.abort();
    } catch {
      // Not written yet.
    }
  }, 5);
  const result = await check.check({ host: "127.0.0.1", port: 1 }, controller.signal);
  clearInterval(watcher);
  assert.equal(result.ok, false);
  assert.equal(result.detail, "timed out; killed");
  const sleeper = Number(readFileSync(pidFile, "utf8"));
  await waitFor("the background sleep to be gone", () => !processAlive(sleeper));
});

test("a command that cannot start fails with the reason", async () => {
  const result = await createExecCheck(["/nonexistent/check"]).check(
    { host: "h", port: 1 },
    new AbortController().signal,
  );
  assert.equal(result.ok, false);
  assert.match(result.detail, /cannot run \/nonexistent\/check: .*ENOENT/);
});

test("{host} and {port} are replaced inside every argument", () => {
  assert.deepEqual(
    substitute(["check", "--to={host}:{port}", "{port}"], { host: "::1", port: 80 }),
    ["check", "--to=::1:80", "80"],
  );
});

/** Alive, and not a zombie waiting to be reaped. */
function processAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
  } catch {
    return false;
  }
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, "utf8");
    return stat.slice(stat.lastIndexOf(")") + 2, stat.lastIndexOf(")") + 3) !== "Z";
  } catch {
    return false;
  }
}
