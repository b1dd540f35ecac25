/** Shared pieces of the health tests: servers on ephemeral loopback ports and bounded waits. */
import { type ChildProcess, spawn } from "node:child_process";
import { mkdtempSync, rmSync } from "node:fs";
import { createServer, type Server } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { type HealthCheckConfig, healthCheckSchema } from "../../src/config/schema/health.js";
import type { BackendHealthView, CheckResult } from "../../src/health/index.js";

/** A validated health_check section, defaults filled in as the config loader would. */
export function healthConfig<T extends HealthCheckConfig["type"]>(
  section: { type: T } & Record<string, unknown>,
): Extract<HealthCheckConfig, { type: T }> {
  return healthCheckSchema.parse(section) as Extract<HealthCheckConfig, { type: T }>;
}

/** Polls until `predicate` holds; rejects after `limitMs` so a broken feature fails, not hangs. */
export async function waitFor(
  what: string,
  predicate: () => boolean,
  limitMs = 10_000,
): Promise<void> {
  const deadline = Date.now() + limitMs;
  while (!predicate()) {
    if (Date.now() > deadline) throw new Error(`gave up waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 5));
  }
}

/** Every result the supervisor counted, with the state it left the backend in. */
export interface RecordedResult {
  ok: boolean;
  detail: string;
  health: "up" | "down";
  consecutiveSuccesses: number;
  consecutiveFailures: number;
}

/** An `onResult` hook that appends to `into`. */
export function recordResults(
  into: RecordedResult[],
): (view: BackendHealthView, result: CheckResult) => void {
  return (view, result) =>
    into.push({
      ok: result.ok,
      detail: result.detail,
      health: view.health,
      consecutiveSuccesses: view.consecutiveSuccesses,
      consecutiveFailures: view.consecutiveFailures,
    });
}

/** A TCP server that accepts and holds connections, on a given or ephemeral port. */
export function listenTcp(port = 0): Promise<Server> {
  const server = createServer((socket) => socket.on("error", () => {}));
  return new Promise((resolve, reject) => {
    server.once("error", reject);
    server.listen(port, "127.0.0.1", () => resolve(server));
  });
}

/** The server's port. */
export function portOf(server: Server | import("node:http").Server): number {
  const address = server.address();
  if (address === null || typeof address === "string") throw new Error("not listening");
  return address.port;
}

/** Closes a server and every connection it holds. */
export function closeServer(server: Server | import("node:http").Server): Promise<void> {
  return new Promise((resolve) => {
    if ("closeAllConnections" in server) server.closeAllConnections();
    server.close(() => resolve());
    if (!("closeAllConnections" in server)) server.unref();
  });
}

/** A free loopback port for servers that cannot listen on port 0 and report it. */
export async function freePort(): Promise<number> {
  const server = await listenTcp(0);
  const port = portOf(server);
  await closeServer(server);
  return port;
}

/** A temporary directory removed when `cleanup` runs. */
export function tempDir(prefix: string): { path: string; cleanup: () => void } {
  const path = mkdtempSync(join(tmpdir(), prefix));
  return { path, cleanup: () => rmSync(path, { recursive: true, force: true }) };
}

/** A redis-server on a loopback port in a temp dir, without persistence. */
export async function startRedis(port: number, dir: string): Promise<ChildProcess> {
  const child = spawn(
    "redis-server",
    ["--port", String(port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no"],
    { cwd: dir, stdio: ["ignore", "pipe", "pipe"] },
  );
  let output = "";
  child.stdout?.on("data", (chunk: Buffer) => {
    output += chunk.toString();
  });
  await waitFor(
    "redis-server to accept connections",
    () => output.includes("Ready to accept connections") || child.exitCode !== null,
  );
  if (child.exitCode !== null) throw new Error(`redis-server exited: ${output}`);
  return child;
}

/** Stops a child process and waits for it to exit. */
export function stopProcess(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return Promise.resolve();
  return new Promise((resolve) => {
    child.once("exit", () => resolve());
    child.kill("SIGTERM");
  });
}

/**
 * Asserts HAProxy's counting: the first result from `start` on that left the backend `after`
 * was the `count`-th consecutive result of kind `ok`, and the one before it had not flipped it.
 */
export function assertTransitionAfter(
  results: readonly RecordedResult[],
  start: number,
  ok: boolean,
  count: number,
  after: "up" | "down",
): void {
  const at = results.findIndex((result, i) => i >= start && result.health === after);
  if (at < 0) throw new Error(`no result from #${start} on left the backend ${after}`);
  const flipped = results[at];
  const streak = ok ? flipped.consecutiveSuccesses : flipped.consecutiveFailures;
  if (flipped.ok !== ok || streak !== count) {
    throw new Error(
      `backend went ${after} after ${streak} ${ok ? "passed" : "failed"} check(s) in a row; expected ${count}`,
    );
  }
  const previous = results[at - 1];
  if (count > 1 && (previous === undefined || previous.health === after || previous.ok !== ok)) {
    throw new Error(
      `the ${count - 1} check(s) before the transition were not a run of the same kind`,
    );
  }
}
