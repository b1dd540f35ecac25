/** Shared pieces of the health tests: validated check configs, recorded results, loopback servers. */
import { createServer, type Server } from "node:net";
import { type HealthCheckConfig, healthCheckSchema } from "../../src/config/schema/health.js";
import type { BackendHealthView, CheckResult } from "../../src/health/index.js";

/** A validated health_check section, defaults filled in as the config loader would. */
export function healthConfig<T extends HealthCheckConfig["type"]>(
  section: { type: T } & Record<string, unknown>,
): Extract<HealthCheckConfig, { type: T }> {
  return healthCheckSchema.parse(section) as Extract<HealthCheckConfig, { type: T }>;
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
