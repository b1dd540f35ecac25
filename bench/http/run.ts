/**
 * The HTTP benchmark: one fast loopback backend (nginx, fixed small answer), then wrk for a
 * fixed time against the backend itself, ballast, nginx, HAProxy, node http-proxy and
 * @fastify/http-proxy, and the "node floor" (a byte relay: the least a Node.js proxy on `net`
 * does per request), each proxy alone on its own core with keep-alive to the backend.
 * Prints requests/s, p50 and p99, each as a ratio to nginx, and requests per CPU second (and
 * CPU-µs per request) of each target (its throughput on a core of its own, which other load
 * hardly moves).
 *
 * Environment: BENCH_DURATION (s, default 10), BENCH_CONNECTIONS (default 64), BENCH_ROUNDS
 * (default 1; with more, every target is measured once per round and the medians printed,
 * which evens out other load on the machine),
 * BENCH_ONLY (comma-separated target names), BENCH_WORKERS (comma-separated worker counts
 * for ballast, default 1: "1,2" adds "ballast x2", pinned to cores 0-1, and prints the
 * scaling curve), BENCH_NICE (run every process at this
 * niceness, e.g. -10, on a machine shared with other work), BENCH_PROFILE=1 (ballast under --cpu-prof;
 * the profile is kept and its path printed).
 */
import { existsSync } from "node:fs";
import { mkdir, writeFile } from "node:fs/promises";
import { availableParallelism, tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { ballastConfig, haproxyConfig, nginxBackendConfig, nginxProxyConfig } from "./configs.js";
import {
  LOAD_CORE,
  measureRun as measurePath,
  nginxCommand,
  PROXY_CORE,
  runInWorkDir,
  twoCores,
} from "./harness.js";
import { freePort, type Started, start, stop, waitUntilServing } from "./processes.js";
import {
  type Measurement,
  medianOf,
  printRoundRatios,
  printScaling,
  printTable,
} from "./report.js";

const durationSeconds = Number(process.env.BENCH_DURATION ?? 10);
const connections = Number(process.env.BENCH_CONNECTIONS ?? 64);
const only = process.env.BENCH_ONLY?.split(",").map((name) => name.trim());
const profile = process.env.BENCH_PROFILE === "1";
const rounds = Math.max(1, Number(process.env.BENCH_ROUNDS ?? 1));
const workerCounts = (process.env.BENCH_WORKERS ?? "1")
  .split(",")
  .map(Number)
  .filter((count) => Number.isInteger(count) && count >= 1);
const WARMUP_SECONDS = 2;
/** Where `BENCH_PROFILE=1` leaves ballast's .cpuprofile files (kept after the run). */
const profileDir = join(tmpdir(), "ballast-bench-profiles");

const root = resolve(new URL("../../..", import.meta.url).pathname);
const dist = join(root, "dist");

interface Target {
  name: string;
  /** Starts the target listening on `port` in front of the backend; none for the backend. */
  launch?: (dir: string, port: number, backendPort: number) => Promise<Started>;
  /** How long it may take to answer after the launch (ms); several processes take longer. */
  startTimeoutMs?: number;
}

const targets: Target[] = [
  { name: "backend" },
  {
    name: "nginx",
    launch: async (dir, port, backendPort) => {
      const file = join(dir, "nginx-proxy.conf");
      await writeFile(file, nginxProxyConfig(dir, port, backendPort));
      return start("nginx", PROXY_CORE, nginxCommand(dir, file));
    },
  },
  {
    name: "haproxy",
    launch: async (dir, port, backendPort) => {
      const file = join(dir, "haproxy.cfg");
      await writeFile(file, haproxyConfig(port, backendPort));
      return start("haproxy", PROXY_CORE, ["haproxy", "-f", file, "-db"]);
    },
  },
  ...workerCounts.map((workers) => ballastTarget(workers)),
  {
    name: "http-proxy",
    launch: async (_dir, port, backendPort) =>
      start("http-proxy", PROXY_CORE, [
        process.execPath,
        join(dist, "bench/peers/http-proxy.js"),
        String(port),
        String(backendPort),
      ]),
  },
  {
    // Not an HTTP proxy: the floor under any Node.js one (see the script).
    name: "node floor",
    launch: async (_dir, port, backendPort) =>
      start("node floor", PROXY_CORE, [
        process.execPath,
        join(dist, "bench/peers/node-floor-proxy.js"),
        `${port}:${backendPort}`,
      ]),
  },
  {
    name: "@fastify/http-proxy",
    launch: async (_dir, port, backendPort) =>
      start("@fastify/http-proxy", PROXY_CORE, [
        process.execPath,
        join(dist, "bench/peers/fastify-proxy.js"),
        String(port),
        String(backendPort),
      ]),
  },
];

/** ballast with `workers` processes: "ballast" for one, "ballast xN" pinned to N cores. */
function ballastTarget(workers: number): Target {
  const cores =
    workers === 1 || PROXY_CORE === undefined
      ? PROXY_CORE
      : Array.from({ length: Math.min(workers, availableParallelism()) }, (_, i) => i).join(",");
  return {
    name: workers === 1 ? "ballast" : `ballast x${workers}`,
    startTimeoutMs: 15_000 * workers,
    launch: async (dir, port, backendPort) => {
      const file = join(dir, `ballast-${workers}.yaml`);
      await writeFile(file, ballastConfig(port, backendPort, workers));
      const flags = profile ? ["--cpu-prof", `--cpu-prof-dir=${profileDir}`] : [];
      const cli = join(dist, "src/cli/main.js");
      const command = existsSync(cli)
        ? [cli, "start", "--config", file]
        : [join(dist, "bench/http/ballast-runtime.js"), file];
      return start("ballast", cores, [process.execPath, ...flags, ...command]);
    },
  };
}

/** wrk's figures for `port`, and the CPU that the process group `pgid` used meanwhile. */
function measureRun(port: number, pgid: number | undefined): Promise<Measurement> {
  return measurePath(port, "/", pgid, {
    connections,
    seconds: durationSeconds,
    warmupSeconds: WARMUP_SECONDS,
  });
}

async function measure(dir: string, target: Target, backend: Started, backendPort: number) {
  if (!target.launch) return measureRun(backendPort, backend.child.pid);
  const port = await freePort();
  const started = await target.launch(dir, port, backendPort);
  try {
    await waitUntilServing(started, port, target.startTimeoutMs);
    return await measureRun(port, started.child.pid);
  } finally {
    await stop(started, profile ? 15_000 : 3000);
  }
}

runInWorkDir("ballast-bench-http-", async (dir) => {
  const backendPort = await freePort();
  const backendFile = join(dir, "backend.conf");
  await writeFile(backendFile, nginxBackendConfig(dir, backendPort));
  const backend = start("backend nginx", LOAD_CORE, nginxCommand(dir, backendFile));
  await waitUntilServing(backend, backendPort);
  if (profile) await mkdir(profileDir, { recursive: true });

  console.log(
    `wrk -t1 -c${connections} -d${durationSeconds}s (after ${WARMUP_SECONDS}s warm-up), ` +
      `${rounds} round(s), medians; ` +
      (twoCores ? "proxy on core 0, backend and wrk on core 1" : "one core: no pinning"),
  );
  const samples = new Map<string, Measurement[]>();
  for (let round = 1; round <= rounds; round++) {
    for (const target of targets) {
      if (only && !only.includes(target.name)) continue;
      try {
        const result = await measure(dir, target, backend, backendPort);
        samples.set(target.name, [...(samples.get(target.name) ?? []), result]);
        if (rounds > 1)
          console.log(
            `round ${round} ${target.name}: ${result.requestsPerSecond.toFixed(0)} req/s`,
          );
      } catch (error) {
        console.error(`${target.name}: ${(error as Error).message}`);
      }
    }
  }
  const results = new Map<string, Measurement>();
  for (const [name, list] of samples) results.set(name, medianOf(list));
  if (rounds > 1) printRoundRatios(samples);
  printTable(results);
  if (workerCounts.length > 1) printScaling(results, workerCounts);
  if (profile) console.log(`CPU profile of ballast in ${profileDir}`);
});
