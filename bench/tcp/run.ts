/**
 * TCP benchmark: ballast's tcp listener against HAProxy `mode tcp` and nginx `stream`, in one
 * run, over the same backends. Each proxy runs alone on CPU 0 (one thread/worker/process);
 * the backends (redis-server; nginx serving an 8 MB file) and the load generators share
 * CPU 1. Figures:
 *   - new connections per second: redis-benchmark -k 0 (a new connection for every PING)
 *   - requests per second over long-lived connections: redis-benchmark -k 1 (GET)
 *   - bulk MB/s: wrk downloading the 8 MB file through the proxy
 *   - CPU µs per new connection: the proxy's own user and system CPU time (from /proc) over the
 *     new-connections run, divided by its connections. A machine busy with other work slows
 *     every rate, but much less what each connection costs, so this is the figure to compare
 *     on a shared machine.
 * each also as a ratio to HAProxy. "node floor" is the least a Node.js proxy does per
 * connection (bench/peers/node-floor-proxy.ts), measured for new connections only: ballast above it is
 * ballast's own cost, it above HAProxy is Node's. Every run is bounded (request counts, wrk -d) and every
 * process is stopped at the end, also on failure.
 *
 * All proxies run side by side (only one under load at a time); after a warm-up, rounds go
 * over every target in turn and each figure is the median of the rounds.
 *
 * Knobs: BENCH_ROUNDS (3), BENCH_NEW_CONNECTIONS (10000), BENCH_REQUESTS (150000),
 * BENCH_BULK_SECONDS (5), BENCH_NEW_ONLY=1 (only the new-connection figures).
 */
import { spawnSync } from "node:child_process";
import { chmodSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { connect } from "node:net";
import { cpus, tmpdir } from "node:os";
import { join } from "node:path";
import { freePort, killAllNow, type Started, start, stopAll } from "../http/processes.js";
import { type CpuSeconds, processTreeCpu } from "./cpu.js";
import { redisBenchmark, wrkMegabytesPerSecond } from "./load.js";
import { ballast, haproxy, nginxStream, nodeFloor, type ProxySpec, type Route } from "./proxies.js";

const newConnections = Number(process.env.BENCH_NEW_CONNECTIONS ?? 10_000);
const requests = Number(process.env.BENCH_REQUESTS ?? 150_000);
const bulkSeconds = Number(process.env.BENCH_BULK_SECONDS ?? 5);
const rounds = Number(process.env.BENCH_ROUNDS ?? 3);
const newOnly = process.env.BENCH_NEW_ONLY === "1";
const twoCores = cpus().length >= 2;
const proxyCore = twoCores ? 0 : undefined;
const loadCore = twoCores ? 1 : undefined;
const pinLoad = (argv: string[]) =>
  loadCore !== undefined && hasCommand("taskset")
    ? ["taskset", "-c", String(loadCore), ...argv]
    : argv;

interface Figures {
  name: string;
  newConnectionsPerSecond: number;
  /** The proxy's CPU per new connection (NaN without a proxy or /proc). */
  userMicrosPerConnection: number;
  systemMicrosPerConnection: number;
  /** NaN with BENCH_NEW_ONLY, and for the node floor. */
  requestsPerSecond: number;
  bulkMegabytesPerSecond: number;
}

const dir = mkdtempSync(join(tmpdir(), "ballast-bench-tcp-"));
process.on("exit", () => {
  killAllNow();
  rmSync(dir, { recursive: true, force: true });
});
for (const signal of ["SIGINT", "SIGTERM"] as const) process.on(signal, () => process.exit(1));

/** One thing measured: a proxy (or none) with its own redis-server behind it. */
interface Target {
  name: string;
  redisPort: number;
  bulkPort: number;
  /** The proxy's process (undefined: no proxy). */
  pid: number | undefined;
  /** A reference for new connections alone (the node floor). */
  newConnectionsOnly: boolean;
  samples: Figures[];
}

try {
  const bulkPort = await freePort();
  const bulk = startBulkServer(bulkPort);
  await waitForPort(bulk, bulkPort);
  const targets: Target[] = [];
  for (const proxy of [undefined, haproxy, nginxStream, nodeFloor, ballast]) {
    // A redis-server of its own for every target: the TIME_WAIT entries that one target's
    // short connections leave towards a port would otherwise slow the next target's connects.
    const redis = await startRedis();
    const started = proxy === undefined ? undefined : await startProxy(proxy, redis.port, bulkPort);
    targets.push({
      name: proxy?.name ?? "direct (no proxy)",
      redisPort: started?.routes[0].listen ?? redis.port,
      bulkPort: started?.routes[1].listen ?? bulkPort,
      pid: started?.pid,
      newConnectionsOnly: proxy === nodeFloor,
      samples: [],
    });
  }
  for (const target of targets) warmUp(target);
  // Rounds over all targets, so that a burst of other work on the machine hits every target
  // alike; each figure is the median of the rounds.
  for (let round = 1; round <= rounds; round++) {
    for (const target of targets) {
      process.stderr.write(`bench:tcp: round ${round}/${rounds}: ${target.name}\n`);
      target.samples.push(measure(target));
    }
  }
  console.log(report(targets.map(medianFigures)));
} finally {
  await stopAll();
}

/** redis-server on CPU 1 with 1000 keys of 64 bytes, so GET reads real values. */
async function startRedis(): Promise<{ port: number; started: Started }> {
  const port = await freePort();
  const started = start("redis-server", loadCore, [
    "redis-server",
    "--port",
    String(port),
    "--bind",
    "127.0.0.1",
    "--save",
    "",
    "--appendonly",
    "no",
    "--dir",
    dir,
    "--maxclients",
    "10000",
  ]);
  await waitForPort(started, port);
  redisBenchmark(port, ["-t", "set", "-n", "10000", "-r", "1000", "-d", "64", "-q"], 60_000);
  return { port, started };
}

/** Starts a proxy on CPU 0 in front of redis and the bulk server; returns its routes and pid. */
async function startProxy(
  proxy: ProxySpec,
  redisPort: number,
  bulkPort: number,
): Promise<{ routes: Route[]; pid: number | undefined }> {
  const routes: Route[] = [
    { listen: await freePort(), backend: redisPort },
    { listen: await freePort(), backend: bulkPort },
  ];
  const proxyDir = join(dir, proxy.name.replace(/\W+/g, "-"));
  mkdirSync(proxyDir);
  const started = start(proxy.name, proxyCore, proxy.command(proxyDir, routes));
  for (const route of routes) await waitForPort(started, route.listen);
  // taskset and nice exec the proxy: the child's pid is the proxy's.
  return { routes, pid: started.child.pid };
}

/** Every path once, not measured: V8 compiles ballast's hot functions during it. */
function warmUp(target: Target): void {
  const bench = (args: string[]) => redisBenchmarkPinned(target.redisPort, args, 60_000);
  bench(["-k", "1", "-c", "50", "-n", "20000", "-t", "get", "-r", "1000"]);
  bench(["-k", "0", "-c", "32", "-n", "3000", "-t", "ping_mbulk"]);
  if (!newOnly && !target.newConnectionsOnly) {
    wrkMegabytesPerSecond(target.bulkPort, "/bulk", 8, 1, pinLoad);
  }
}

function measure(target: Target): Figures {
  const bench = (args: string[]) => redisBenchmarkPinned(target.redisPort, args, 120_000);
  const onlyNew = newOnly || target.newConnectionsOnly;
  const cpuBefore = cpuOf(target);
  const newConnectionsPerSecond = bench([
    "-k",
    "0",
    "-c",
    "32",
    "-n",
    String(newConnections),
    "-t",
    "ping_mbulk",
  ]);
  const cpuAfter = cpuOf(target);
  const perConnection = (pick: (cpu: CpuSeconds) => number) =>
    cpuBefore === undefined || cpuAfter === undefined
      ? Number.NaN
      : ((pick(cpuAfter) - pick(cpuBefore)) * 1e6) / newConnections;
  return {
    name: target.name,
    newConnectionsPerSecond,
    userMicrosPerConnection: perConnection((cpu) => cpu.user),
    systemMicrosPerConnection: perConnection((cpu) => cpu.system),
    requestsPerSecond: onlyNew
      ? Number.NaN
      : bench(["-k", "1", "-c", "50", "-n", String(requests), "-t", "get", "-r", "1000"]),
    bulkMegabytesPerSecond: onlyNew ? Number.NaN : wrkPinned(target.bulkPort),
  };
}

function cpuOf(target: Target): CpuSeconds | undefined {
  return target.pid === undefined ? undefined : processTreeCpu(target.pid);
}

function medianFigures(target: Target): Figures {
  const median = (pick: (f: Figures) => number) => {
    const values = target.samples.map(pick).sort((a, b) => a - b);
    return values[Math.floor(values.length / 2)];
  };
  return {
    name: target.name,
    newConnectionsPerSecond: median((f) => f.newConnectionsPerSecond),
    userMicrosPerConnection: median((f) => f.userMicrosPerConnection),
    systemMicrosPerConnection: median((f) => f.systemMicrosPerConnection),
    requestsPerSecond: median((f) => f.requestsPerSecond),
    bulkMegabytesPerSecond: median((f) => f.bulkMegabytesPerSecond),
  };
}

function redisBenchmarkPinned(port: number, args: string[], limitMs: number): number {
  if (loadCore === undefined || !hasCommand("taskset")) return redisBenchmark(port, args, limitMs);
  // taskset execs redis-benchmark, so the parsing in load.ts sees its output unchanged.
  return redisBenchmark(port, args, limitMs, pinLoad);
}

function wrkPinned(port: number): number {
  return wrkMegabytesPerSecond(port, "/bulk", 8, bulkSeconds, pinLoad);
}

/** nginx (http) serving an 8 MB file at /bulk: the source of the bulk transfer test. */
function startBulkServer(port: number): Started {
  const root = join(dir, "bulk");
  mkdirSync(join(root, "tmp"), { recursive: true });
  writeFileSync(join(root, "bulk"), Buffer.alloc(8 * 1024 * 1024, 0x61));
  // nginx's worker runs as an unprivileged user: it must be able to walk to the file.
  chmodSync(dir, 0o755);
  chmodSync(root, 0o755);
  chmodSync(join(root, "bulk"), 0o644);
  writeFileSync(
    join(root, "nginx.conf"),
    `worker_processes 1;
pid ${join(root, "nginx.pid")};
error_log ${join(root, "error.log")} warn;
events { worker_connections 1024; }
http {
  access_log off;
  sendfile on;
  client_body_temp_path ${join(root, "tmp")};
  proxy_temp_path ${join(root, "tmp")};
  fastcgi_temp_path ${join(root, "tmp")};
  uwsgi_temp_path ${join(root, "tmp")};
  scgi_temp_path ${join(root, "tmp")};
  server { listen 127.0.0.1:${port}; root ${root}; location = /bulk { } }
}
`,
  );
  return start("bulk nginx", loadCore, [
    "nginx",
    "-p",
    root,
    "-c",
    join(root, "nginx.conf"),
    "-g",
    "daemon off;",
  ]);
}

async function waitForPort(started: Started, port: number, limitMs = 15_000): Promise<void> {
  const deadline = Date.now() + limitMs;
  while (Date.now() < deadline) {
    if (started.child.exitCode !== null) break;
    const ok = await new Promise<boolean>((resolve) => {
      const socket = connect(port, "127.0.0.1");
      socket.once("connect", () => {
        socket.destroy();
        resolve(true);
      });
      socket.once("error", () => resolve(false));
    });
    if (ok) return;
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
  throw new Error(`${started.name} does not accept on port ${port}:\n${started.output.join("\n")}`);
}

function report(results: Figures[]): string {
  const base = results.find((r) => r.name === "haproxy")!;
  const ratio = (value: number, reference: number) => `${(value / reference).toFixed(2)}x`;
  const figure = (value: number, reference: number, digits = 0) =>
    Number.isNaN(value) ? "-" : `${value.toFixed(digits)} (${ratio(value, reference)})`;
  const cpu = (r: Figures) => r.userMicrosPerConnection + r.systemMicrosPerConnection;
  const rows = results.map((r) =>
    [
      r.name,
      figure(r.newConnectionsPerSecond, base.newConnectionsPerSecond),
      Number.isNaN(cpu(r))
        ? "-"
        : `${r.userMicrosPerConnection.toFixed(0)} + ${r.systemMicrosPerConnection.toFixed(0)} = ${figure(cpu(r), cpu(base))}`,
      figure(r.requestsPerSecond, base.requestsPerSecond),
      figure(r.bulkMegabytesPerSecond, base.bulkMegabytesPerSecond),
    ].join(" | "),
  );
  const setup = twoCores
    ? "proxy alone on CPU 0; backends and load generators on CPU 1"
    : "one CPU: nothing pinned";
  return [
    `TCP proxies, one thread/worker each (${setup}); ratio to HAProxy in brackets`,
    "",
    "| proxy | new connections/s | CPU µs per new connection, user + system | requests/s, long-lived (redis GET, 50 conns) | bulk MB/s (wrk, 8 MB file) |",
    "|---|---|---|---|---|",
    ...rows.map((row) => `| ${row} |`),
  ].join("\n");
}

function hasCommand(name: string): boolean {
  return spawnSync("sh", ["-c", `command -v ${name}`]).status === 0;
}
