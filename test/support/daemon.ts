/** Child processes of the tests: daemons that run until stopped, and commands that finish. */
import { type ChildProcess, spawn } from "node:child_process";

/** A daemon started by a test, killed by `stop`. */
export interface Daemon {
  process: ChildProcess;
  output(): string;
  stop(): Promise<void>;
}

/**
 * Spawns a daemon in the foreground (`command` an absolute path from requireProgram, so a
 * missing program has failed the test already); `stop` sends SIGTERM, then SIGKILL after 3 s.
 */
export function startDaemon(
  command: string,
  args: string[],
  options: { cwd?: string } = {},
): Daemon {
  const child = spawn(command, args, { cwd: options.cwd, stdio: ["ignore", "pipe", "pipe"] });
  let output = "";
  const keep = (chunk: Buffer) => {
    if (output.length < 65_536) output += chunk;
  };
  child.stdout?.on("data", keep);
  child.stderr?.on("data", keep);
  const exited = new Promise<void>((resolve) => child.once("exit", () => resolve()));
  return {
    process: child,
    output: () => output,
    stop: async () => {
      if (child.exitCode !== null || child.signalCode !== null) return;
      child.kill("SIGTERM");
      const timer = setTimeout(() => child.kill("SIGKILL"), 3000);
      await exited;
      clearTimeout(timer);
    },
  };
}

/** What a finished command printed, and how it ended (`code` null when killed). */
export interface Finished {
  code: number | null;
  stdout: string;
  stderr: string;
}

/** Runs a command to completion (killed after `limitMs`) and returns its exit code and output. */
export function run(command: string, args: string[], limitMs = 60_000): Promise<Finished> {
  return new Promise((resolve, reject) => {
    const child = spawn(command, args, { stdio: ["ignore", "pipe", "pipe"] });
    let stdout = "";
    let stderr = "";
    child.stdout.on("data", (chunk) => {
      stdout += chunk;
    });
    child.stderr.on("data", (chunk) => {
      stderr += chunk;
    });
    child.on("error", reject);
    const timer = setTimeout(() => child.kill("SIGKILL"), limitMs);
    child.on("close", (code) => {
      clearTimeout(timer);
      resolve({ code, stdout, stderr });
    });
  });
}
