/** A real `ballast start` process for a test: its JSON log lines as they arrive, and its exit. */
import { type ChildProcess, spawn } from "node:child_process";
import { resolve } from "node:path";
import { createInterface } from "node:readline";

const BALLAST = resolve(import.meta.dirname, "../../src/cli/main.js");

/** A running `ballast start --config FILE`. */
export interface BallastProcess {
  child: ChildProcess;
  /** Every log line so far (a line that is not JSON is kept as `{ msg: line }`). */
  logs: Record<string, unknown>[];
  /** The first log line with this message. */
  find(msg: string): Record<string, unknown> | undefined;
  /** How many log lines have this message. */
  count(msg: string): number;
  /** The exit code once it exited, undefined while it runs. */
  readonly exitCode: number | null | undefined;
  /** Resolves with the exit code. */
  exited: Promise<number | null>;
  /** Kills it (SIGKILL) if it still runs, and waits for the exit. */
  kill(): Promise<void>;
}

/** Starts `ballast start --config configPath`. */
export function startBallast(configPath: string): BallastProcess {
  const child = spawn(process.execPath, [BALLAST, "start", "--config", configPath], {
    stdio: ["ignore", "pipe", "pipe"],
  });
  let exitCode: number | null | undefined;
  const exited = new Promise<number | null>((done) =>
    child.on("exit", (code) => {
      exitCode = code;
      done(code);
    }),
  );
  const logs: Record<string, unknown>[] = [];
  createInterface({ input: child.stdout! }).on("line", (line) => {
    try {
      logs.push(JSON.parse(line));
    } catch {
      logs.push({ msg: line });
    }
  });
  return {
    child,
    logs,
    find: (msg) => logs.find((line) => line.msg === msg),
    count: (msg) => logs.filter((line) => line.msg === msg).length,
    get exitCode() {
      return exitCode;
    },
    exited,
    async kill() {
      if (exitCode !== undefined) return;
      child.kill("SIGKILL");
      await exited;
    },
  };
}
