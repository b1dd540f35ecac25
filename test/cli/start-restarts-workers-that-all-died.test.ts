/**
 * `workers: 2`: when every worker dies at once (killed, or one fatal bug in all of them), the
 * primary stays and forks new ones, which serve again; it does not exit with its restart
 * timers pending.
 */
import assert from "node:assert/strict";
import { type ChildProcess, spawn, spawnSync } from "node:child_process";
import { once } from "node:events";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { createInterface } from "node:readline";
import { after, it } from "node:test";
import { fileURLToPath } from "node:url";
import { freePort } from "../support/ports.js";
import { requireProgram } from "../support/programs.js";

const cliPath = fileURLToPath(new URL("../../src/cli/main.js", import.meta.url));
const dir = mkdtempSync(join(tmpdir(), "ballast-workers-restart-"));
let child: ChildProcess | undefined;
let backend: Server | undefined;

after(() => {
  if (child?.exitCode === null && child.signalCode === null) child.kill("SIGKILL");
  backend?.closeAllConnections();
  backend?.close();
  rmSync(dir, { recursive: true, force: true });
});

/** The pids of the primary's children: its workers. */
function workerPids(primary: number): number[] {
  const result = spawnSync(requireProgram("pgrep"), ["-P", String(primary)], { encoding: "utf8" });
  return result.stdout.split("\n").filter(Boolean).map(Number);
}

it("forks new workers after every worker died at once, and they serve", {
  timeout: 40_000,
}, async () => {
  backend = createServer((_request, response) => response.end("ok"));
  await new Promise<void>((resolve) => backend!.listen(0, "127.0.0.1", resolve));
  const backendPort = (backend.address() as AddressInfo).port;
  // A fixed port: with port 0, each cluster worker would bind a different one.
  const port = await freePort();
  const config = join(dir, "workers.yaml");
  writeFileSync(
    config,
    `listeners:
  - { name: web, protocol: http, bind: "127.0.0.1:${port}", default_pool: api, access_log: false }
pools:
  api:
    backends: [{ address: "127.0.0.1:${backendPort}" }]
workers: 2
log: { level: info }
`,
  );
  child = spawn(process.execPath, [cliPath, "start", "--config", config], {
    stdio: ["ignore", "pipe", "pipe"],
  });
  const primary = child;
  const messages: string[] = [];
  const waiters: { count: number; msg: string; resolve: () => void }[] = [];
  createInterface({ input: primary.stdout! }).on("line", (line) => {
    try {
      messages.push(String((JSON.parse(line) as { msg?: unknown }).msg));
    } catch {
      messages.push(line);
    }
    for (const w of waiters) {
      if (messages.filter((m) => m === w.msg).length >= w.count) w.resolve();
    }
  });
  /** Resolves once `msg` has been logged `count` times in all; rejects after 15 s. */
  const logged = (msg: string, count: number) =>
    new Promise<void>((resolve, reject) => {
      const timer = setTimeout(
        () => reject(new Error(`no ${count}× "${msg}": ${messages.join(" | ")}`)),
        15_000,
      );
      waiters.push({
        count,
        msg,
        resolve: () => {
          clearTimeout(timer);
          resolve();
        },
      });
      if (messages.filter((m) => m === msg).length >= count) waiters.at(-1)!.resolve();
    });

  await logged("listening", 2);
  const first = workerPids(primary.pid!);
  assert.equal(first.length, 2, `workers: ${first}`);
  for (const pid of first) process.kill(pid, "SIGKILL");

  const exited = once(primary, "exit").then(([code]) => `primary exited with ${code}`);
  const restarted = logged("listening", 4).then(() => "restarted");
  assert.equal(await Promise.race([exited, restarted]), "restarted");
  assert.ok(messages.includes("worker died; restarting"), messages.join(" | "));

  const response = await fetch(`http://127.0.0.1:${port}/`, { signal: AbortSignal.timeout(5_000) });
  assert.equal(await response.text(), "ok");
  primary.kill("SIGTERM");
  const [code] = await once(primary, "exit");
  assert.equal(code, 0);
});
