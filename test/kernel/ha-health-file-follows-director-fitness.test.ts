/**
 * A running `ballast start` with an `ha:` section keeps its health file in step with its
 * fitness: 0 while the tracked pool has a backend available, 1 (unfit) once the last one
 * fails its checks, 0 again when it returns; the file's age is refreshed every heartbeat
 * while ballast lives and stops being refreshed when it is killed; a graceful stop writes
 * 1000, which puts keepalived in FAULT before the listeners close. `GET /api/ha` shows the
 * verdict with its reasons and what keepalived reads from the file.
 */
import assert from "node:assert/strict";
import { readFileSync, statSync, writeFileSync } from "node:fs";
import { createServer, type Server } from "node:net";
import { join } from "node:path";
import { after, describe, it } from "node:test";
import { setTimeout as sleep } from "node:timers/promises";
import { runCli } from "../config/cli.js";
import { startBallast } from "../support/ballast-start.js";
import { tempDir } from "../support/temp-dir.js";
import { waitFor } from "../support/wait.js";

const dir = tempDir("ha-health");
after(() => dir.cleanup());

/** A TCP backend on a fixed loopback port (0 for a new one). */
async function listen(port = 0): Promise<Server> {
  const server = createServer((socket) => socket.end());
  await new Promise<void>((resolve) => server.listen(port, "127.0.0.1", resolve));
  return server;
}

function close(server: Server): Promise<void> {
  return new Promise((resolve) => server.close(() => resolve()));
}

function config(backendPort: number, healthFile: string): string {
  return [
    "listeners:",
    '  - { name: vip, protocol: tcp, bind: "127.0.0.1:0", pool: web }',
    "pools:",
    "  web:",
    "    health_check: { type: tcp, interval: 100ms, timeout: 100ms, fall: 1, rise: 1 }",
    `    backends: [{ address: "127.0.0.1:${backendPort}" }]`,
    "ha:",
    "  interface: eth0",
    "  virtual_router_id: 7",
    "  priority: 100",
    '  vips: ["10.0.0.100/24"]',
    `  health_file: ${healthFile}`,
    "  heartbeat: 100ms",
    "  stale_after: 1s",
    'admin: { bind: "127.0.0.1:0", token: "t" }',
    "",
  ].join("\n");
}

function write(name: string, text: string): string {
  const path = join(dir.path, name);
  writeFileSync(path, text);
  return path;
}

const value = (path: string) => {
  try {
    return readFileSync(path, "utf8");
  } catch {
    return "(missing)";
  }
};

describe("the HA health file", () => {
  it("follows the pool's health and is refreshed every heartbeat", async (t) => {
    let backend = await listen();
    const port = (backend.address() as { port: number }).port;
    const healthFile = join(dir.path, "state", "a-health");
    const ballast = startBallast(write("a.yaml", config(port, healthFile)));
    t.after(async () => {
      await ballast.kill();
      await close(backend);
    });
    await waitFor("the fit verdict", () => value(healthFile) === "0\n", 15_000);
    const first = statSync(healthFile).mtimeMs;
    await waitFor("a heartbeat", () => statSync(healthFile).mtimeMs > first, 5000);

    const adminPort = ballast.find("admin API listening")?.port as number;
    const haView = async () => {
      const response = await fetch(`http://127.0.0.1:${adminPort}/api/ha`, {
        headers: { authorization: "Bearer t" },
      });
      return (await response.json()) as {
        fit: boolean;
        reasons: string[];
        healthFile: { value: number; ageMs: number };
      };
    };
    const fit = await haView();
    assert.equal(fit.fit, true);
    assert.equal(fit.healthFile.value, 0);
    assert.ok(fit.healthFile.ageMs < 1000, `age ${fit.healthFile.ageMs} ms`);

    await close(backend);
    await waitFor("the unfit verdict", () => value(healthFile) === "1\n", 5000);
    const unfit = ballast.find("director unfit: keepalived lowers its priority");
    assert.deepEqual(unfit?.reasons, ["pool web: 0 of 1 backends available"]);
    const unfitView = await haView();
    assert.deepEqual(unfitView.reasons, ["pool web: 0 of 1 backends available"]);
    assert.equal(unfitView.healthFile.value, 1);

    backend = await listen(port);
    await waitFor("fit again", () => value(healthFile) === "0\n", 5000);
    assert.equal(ballast.count("director fit: keepalived keeps its priority"), 2);

    await ballast.kill();
    const killedAt = statSync(healthFile).mtimeMs;
    await sleep(500);
    assert.equal(statSync(healthFile).mtimeMs, killedAt, "nobody refreshes it after a crash");
  });

  it("says STOPPED (1000) on a graceful stop", async (t) => {
    const backend = await listen();
    const port = (backend.address() as { port: number }).port;
    const healthFile = join(dir.path, "b-health");
    const ballast = startBallast(write("b.yaml", config(port, healthFile)));
    t.after(async () => {
      await ballast.kill();
      await close(backend);
    });
    await waitFor("the fit verdict", () => value(healthFile) === "0\n", 15_000);
    // Its signal handlers are in place once it says it started.
    await waitFor("ballast started", () => ballast.find("ballast started") !== undefined, 15_000);
    ballast.child.kill("SIGTERM");
    await waitFor("STOPPED", () => value(healthFile) === "1000\n", 5000).catch((error: Error) => {
      throw new Error(
        `${error.message}: file ${JSON.stringify(value(healthFile))}, exit ${ballast.exitCode}, log ${JSON.stringify(ballast.logs.map((l) => l.msg))}`,
      );
    });
    assert.equal(await ballast.exited, 0);
  });

  it("a health file that cannot be written stops the start with a clear error", async () => {
    const backend = await listen();
    const port = (backend.address() as { port: number }).port;
    // A parent that is a file: the folder cannot be made, whoever runs the test.
    const blocker = write("not-a-folder", "");
    const path = write("c.yaml", config(port, join(blocker, "health")));
    try {
      const result = runCli(["start", "--config", path]);
      assert.equal(result.status, 1, result.stderr);
      assert.match(
        result.stderr,
        /cannot create the folder of the HA health file .*not-a-folder\/health/,
      );
    } finally {
      await close(backend);
    }
  });
});
