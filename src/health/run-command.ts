/**
 * Runs check commands (exec, ping) in one shared worker thread. Node's spawn() blocks the
 * calling event loop for milliseconds per process (measured up to 100 ms on a busy host),
 * so spawning from the main thread would stall every proxied request; the worker takes that
 * cost, and the main thread only exchanges two small messages per check.
 */
import { Worker } from "node:worker_threads";
import type { CommandReply, CommandRequest } from "./command-worker.js";
import { type CheckResult, failed } from "./types.js";

/** Output kept for the check's detail, by default. */
const DETAIL_CHARS = 200;

let worker: Worker | undefined;
let nextId = 1;
const pending = new Map<number, (result: CheckResult) => void>();

/**
 * Runs argv (no shell); exit 0 passes. On abort the whole process group gets SIGKILL, as
 * keepalived kills a MISC_CHECK script that outlives its timeout.
 */
export function runCommand(
  argv: readonly string[],
  signal: AbortSignal,
  detailChars = DETAIL_CHARS,
): Promise<CheckResult> {
  return new Promise((resolve) => {
    if (signal.aborted) return resolve(failed("timed out before starting"));
    const runner = commandWorker();
    const id = nextId++;
    const onAbort = () => send(runner, { type: "abort", id });
    pending.set(id, (result) => {
      signal.removeEventListener("abort", onAbort);
      resolve(result);
    });
    signal.addEventListener("abort", onAbort, { once: true });
    // Keep the process alive while a check waits for its answer, and only then.
    runner.ref();
    send(runner, { type: "run", id, argv: [...argv], detailChars });
  });
}

function send(runner: Worker, request: CommandRequest): void {
  runner.postMessage(request);
}

function commandWorker(): Worker {
  if (worker !== undefined) return worker;
  const started = new Worker(new URL("./command-worker.js", import.meta.url));
  started.unref();
  started.on("message", (reply: CommandReply) => {
    const settle = pending.get(reply.id);
    pending.delete(reply.id);
    if (pending.size === 0) started.unref();
    settle?.({ ok: reply.ok, detail: reply.detail });
  });
  const fail = (why: string) => {
    if (worker === started) worker = undefined;
    for (const settle of pending.values()) settle(failed(why));
    pending.clear();
  };
  started.on("error", (error) => fail(`command runner failed: ${error.message}`));
  started.on("exit", (code) => fail(`command runner exited with ${code}`));
  worker = started;
  return started;
}
