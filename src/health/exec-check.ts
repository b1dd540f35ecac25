/** Exec check (keepalived MISC_CHECK): run a command with the backend's address; exit 0 is healthy. */
import { runCommand } from "./run-command.js";
import type { CheckResult, CheckTarget, HealthCheck } from "./types.js";

/** argv with "{host}" and "{port}" replaced per target; no shell is involved. */
export function createExecCheck(command: readonly string[]): HealthCheck {
  if (command.length === 0) throw new Error("an exec check needs a command");
  return {
    type: "exec",
    check: (target, signal) =>
      runCommand(substitute(command, target), signal).then((result) =>
        withProcStatus(result, signal),
      ),
  };
}

/** PROCOK, PROCERR, or PROCTOUT when the supervisor's timeout killed the command. */
function withProcStatus(result: CheckResult, signal: AbortSignal): CheckResult {
  const status = result.ok ? "PROCOK" : signal.aborted ? "PROCTOUT" : "PROCERR";
  return { ...result, status };
}

/** Replaces every "{host}" and "{port}" in each argument. */
export function substitute(command: readonly string[], target: CheckTarget): string[] {
  const port = String(target.port);
  return command.map((arg) => arg.replaceAll("{host}", target.host).replaceAll("{port}", port));
}
