/**
 * Spawns a check command as its own process group, so a timeout kills it and its children.
 * Runs inside the command worker (command-worker.ts): spawn() blocks its event loop for
 * milliseconds per call, which must not be the data plane's loop.
 */
import { spawn } from "node:child_process";
import { type CheckResult, describeError, failed, passed } from "./types.js";

/** Output kept for the check's detail, by default. */
const DETAIL_CHARS = 200;

/**
 * Runs argv (no shell); exit 0 passes. On abort the whole process group gets SIGKILL, as
 * keepalived kills a MISC_CHECK script that outlives its timeout.
 */
export function spawnCommand(
  argv: readonly string[],
  signal: AbortSignal,
  detailChars = DETAIL_CHARS,
): Promise<CheckResult> {
  return new Promise((resolve) => {
    if (signal.aborted) return resolve(failed("timed out before starting"));
    const [file, ...args] = argv;
    // detached: a process group of its own, so a shell script's children die with it.
    const child = spawn(file, args, { detached: true, stdio: ["ignore", "pipe", "pipe"] });
    let output = "";
    const collect = (chunk: Buffer) => {
      if (output.length < detailChars) output += chunk.toString("utf8");
    };
    child.stdout.on("data", collect);
    child.stderr.on("data", collect);
    let timedOut = false;
    const killGroup = () => {
      if (child.pid === undefined) return;
      try {
        process.kill(-child.pid, "SIGKILL");
      } catch {
        // Already gone.
      }
    };
    const onAbort = () => {
      timedOut = true;
      killGroup();
    };
    signal.addEventListener("abort", onAbort, { once: true });
    const finish = (result: CheckResult) => {
      signal.removeEventListener("abort", onAbort);
      // A background child that kept our pipes open must not keep this process alive.
      child.stdout.destroy();
      child.stderr.destroy();
      resolve(result);
    };
    child.once("error", (error) => finish(failed(`cannot run ${file}: ${describeError(error)}`)));
    // "exit", not "close": a grandchild holding the pipes open must not stall the check.
    child.once("exit", (code, killedBy) => {
      const said = summarize(output, detailChars);
      if (timedOut) return finish(failed("timed out; killed"));
      if (code === 0) return finish(passed(said === "" ? "exit 0" : `exit 0: ${said}`));
      const how = killedBy ? `killed by ${killedBy}` : `exit ${code}`;
      finish(failed(said === "" ? how : `${how}: ${said}`));
    });
  });
}

function summarize(output: string, limit: number): string {
  const trimmed = output.trim().replace(/\s+/g, " ");
  return trimmed.length > limit ? `${trimmed.slice(0, limit)}...` : trimmed;
}
