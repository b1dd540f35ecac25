/**
 * What the HTTP and cache benchmarks share: core pinning, the nginx and ballast command
 * lines, wrk runs measured with the CPU the target used, and a work folder that is removed
 * (and every child stopped) however the run ends.
 */
import { existsSync, rmSync } from "node:fs";
import { mkdtemp, rm } from "node:fs/promises";
import { availableParallelism, tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { groupCpuSeconds, killAllNow, run, stopAll } from "./processes.js";
import type { Measurement } from "./report.js";
import { parseWrk, type WrkResult } from "./wrk.js";

// With two or more cores, every proxy runs alone on core 0 while the backend and wrk share
// core 1, so each proxy gets one core as "one ballast process" does.
export const twoCores = availableParallelism() >= 2;
export const PROXY_CORE = twoCores ? 0 : undefined;
export const LOAD_CORE = twoCores ? 1 : undefined;

const dist = join(resolve(new URL("../../..", import.meta.url).pathname), "dist");

/** nginx in the foreground with its prefix, logs and config inside `dir`. */
export function nginxCommand(dir: string, file: string): string[] {
  return [
    "nginx",
    "-p",
    dir,
    "-e",
    join(dir, "startup-error.log"),
    "-c",
    file,
    "-g",
    "daemon off;",
  ];
}

/** `ballast start` on `file` (or the bench's own runtime starter when the CLI is not built). */
export function ballastCommand(file: string, nodeFlags: string[] = []): string[] {
  const cli = join(dist, "src/cli/main.js");
  const command = existsSync(cli)
    ? [cli, "start", "--config", file]
    : [join(dist, "bench/http/ballast-runtime.js"), file];
  return [process.execPath, ...nodeFlags, ...command];
}

/** How long and how hard wrk runs. */
export interface WrkLoad {
  connections: number;
  seconds: number;
}

/** One `wrk -t1 --latency` run against `http://127.0.0.1:port/path`, on the load core. */
export async function wrk(port: number, path: string, load: WrkLoad): Promise<WrkResult> {
  const output = await run("wrk", LOAD_CORE, [
    "wrk",
    "-t1",
    `-c${load.connections}`,
    `-d${load.seconds}s`,
    "--latency",
    `http://127.0.0.1:${port}${path}`,
  ]);
  return parseWrk(output);
}

/**
 * wrk's figures for `path` after an unmeasured warm-up (which also fills a cache), and the
 * CPU that the process group `pgid` used during the measured run.
 */
export async function measureRun(
  port: number,
  path: string,
  pgid: number | undefined,
  load: WrkLoad & { warmupSeconds: number },
): Promise<Measurement> {
  await wrk(port, path, { ...load, seconds: load.warmupSeconds });
  const cpuBefore = pgid === undefined ? undefined : groupCpuSeconds(pgid);
  const result = await wrk(port, path, load);
  const cpuAfter = pgid === undefined ? undefined : groupCpuSeconds(pgid);
  const cpuSeconds =
    cpuBefore === undefined || cpuAfter === undefined ? Number.NaN : cpuAfter - cpuBefore;
  return { ...result, cpuSeconds, requestsPerCpuSecond: result.requests / cpuSeconds };
}

/**
 * Runs `body` with a fresh temp folder; afterwards, on an error or on SIGINT/SIGTERM, every
 * started process is stopped and the folder removed.
 */
export function runInWorkDir(prefix: string, body: (dir: string) => Promise<void>): void {
  let workDir: string | undefined;
  for (const signal of ["SIGINT", "SIGTERM"] as const) {
    process.once(signal, () => {
      killAllNow();
      if (workDir) rmSync(workDir, { recursive: true, force: true });
      process.exit(130);
    });
  }
  process.once("exit", killAllNow);
  const main = async () => {
    const dir = await mkdtemp(join(tmpdir(), prefix));
    workDir = dir;
    try {
      await body(dir);
    } finally {
      await stopAll();
      await rm(dir, { recursive: true, force: true });
    }
  };
  main().catch((error) => {
    console.error(error);
    process.exitCode = 1;
  });
}
