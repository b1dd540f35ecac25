/**
 * The TLS benchmark: ballast, nginx and HAProxy terminating TLS with the same ECDSA P-256
 * certificate in front of one nginx backend, each proxy alone on core 0 (load and backend on
 * core 1). Three figures per proxy, each per CPU-second of the proxy and as a ratio to nginx:
 *   - keep-alive: wrk over 64 TLS connections (handshakes only at the start);
 *   - new handshakes: `openssl s_time -new`, a full handshake and one GET per connection;
 *   - resumed handshakes: `openssl s_time -reuse`, the session resumed every time.
 * The "node floor" is a TLS byte relay (bench/peers/node-floor-proxy.ts): what any Node.js
 * proxy terminating TLS costs at least.
 *
 * Environment: BENCH_DURATION (s, default 5), BENCH_CONNECTIONS (default 64), BENCH_ROUNDS
 * (default 1, medians over rounds), BENCH_ONLY (comma-separated target names).
 */
import { writeFile } from "node:fs/promises";
import { request } from "node:https";
import { join } from "node:path";
import { nginxBackendConfig } from "../http/configs.js";
import {
  ballastCommand,
  LOAD_CORE,
  nginxCommand,
  PROXY_CORE,
  runInWorkDir,
  twoCores,
} from "../http/harness.js";
import {
  freePort,
  groupCpuSeconds,
  run,
  type Started,
  start,
  stop,
  waitUntilServing,
} from "../http/processes.js";
import { parseWrk } from "../http/wrk.js";
import {
  ballastTlsConfig,
  type Certificate,
  haproxyTlsConfig,
  makeCertificate,
  nginxTlsConfig,
} from "./configs.js";

const durationSeconds = Number(process.env.BENCH_DURATION ?? 5);
const connections = Number(process.env.BENCH_CONNECTIONS ?? 64);
const rounds = Math.max(1, Number(process.env.BENCH_ROUNDS ?? 1));
const only = process.env.BENCH_ONLY?.split(",").map((name) => name.trim());

type Launch = (
  dir: string,
  port: number,
  backendPort: number,
  tls: Certificate,
) => Promise<Started>;

const targets: { name: string; launch: Launch }[] = [
  {
    name: "nginx",
    launch: async (dir, port, backendPort, tls) => {
      const file = join(dir, "nginx-tls.conf");
      await writeFile(file, nginxTlsConfig(dir, port, backendPort, tls));
      return start("nginx", PROXY_CORE, nginxCommand(dir, file));
    },
  },
  {
    name: "haproxy",
    launch: async (dir, port, backendPort, tls) => {
      const file = join(dir, "haproxy-tls.cfg");
      await writeFile(file, haproxyTlsConfig(port, backendPort, tls));
      return start("haproxy", PROXY_CORE, ["haproxy", "-f", file, "-db"]);
    },
  },
  {
    name: "ballast",
    launch: async (dir, port, backendPort, tls) => {
      const file = join(dir, "ballast-tls.json");
      await writeFile(file, ballastTlsConfig(port, backendPort, tls));
      return start("ballast", PROXY_CORE, ballastCommand(file));
    },
  },
  {
    // Not an HTTP proxy: a TLS byte relay, the floor under any Node.js TLS proxy.
    name: "node floor",
    launch: async (_dir, port, backendPort, tls) =>
      start("node floor", PROXY_CORE, [
        process.execPath,
        new URL("../peers/node-floor-proxy.js", import.meta.url).pathname,
        "--tls",
        tls.cert,
        tls.key,
        `${port}:${backendPort}`,
      ]),
  },
];

/** Per-CPU-second figures of one proxy in one round. */
interface Figures {
  keepAlive: number;
  newHandshakes: number;
  resumedHandshakes: number;
  keepAliveP99Ms: number;
}

/** Runs `load` and returns what it counted per CPU-second of the process group `pgid`. */
async function perCpuSecond<T>(pgid: number, load: () => Promise<T>, count: (r: T) => number) {
  const before = groupCpuSeconds(pgid) ?? Number.NaN;
  const result = await load();
  const cpu = (groupCpuSeconds(pgid) ?? Number.NaN) - before;
  return { result, perCpuSecond: count(result) / cpu };
}

async function wrkTls(port: number, seconds: number) {
  const url = `https://127.0.0.1:${port}/`;
  return parseWrk(
    await run("wrk", LOAD_CORE, [
      "wrk",
      "-t1",
      `-c${connections}`,
      `-d${seconds}s`,
      "--latency",
      url,
    ]),
  );
}

/** Connections `openssl s_time` completed (each a handshake and a GET of /). */
async function sTime(port: number, mode: "-new" | "-reuse", seconds: number): Promise<number> {
  const argv = [
    "openssl",
    "s_time",
    "-connect",
    `127.0.0.1:${port}`,
    mode,
    "-time",
    String(seconds),
  ];
  const output = await run("s_time", LOAD_CORE, [...argv, "-www", "/"]);
  const match = /(\d+) connections in [\d.]+ real seconds/.exec(output);
  if (!match) throw new Error(`cannot read openssl s_time's report:\n${output}`);
  return Number(match[1]);
}

async function measure(started: Started, port: number): Promise<Figures> {
  const pgid = started.child.pid as number;
  await wrkTls(port, 1); // warm-up: V8 compiles the hot path, nginx fills its caches
  const keepAlive = await perCpuSecond(
    pgid,
    () => wrkTls(port, durationSeconds),
    (r) => r.requests,
  );
  const fresh = await perCpuSecond(
    pgid,
    () => sTime(port, "-new", durationSeconds),
    (n) => n,
  );
  const resumed = await perCpuSecond(
    pgid,
    () => sTime(port, "-reuse", durationSeconds),
    (n) => n,
  );
  if (keepAlive.result.errors > 0)
    console.error(`errors through keep-alive: ${keepAlive.result.errors}`);
  return {
    keepAlive: keepAlive.perCpuSecond,
    newHandshakes: fresh.perCpuSecond,
    resumedHandshakes: resumed.perCpuSecond,
    keepAliveP99Ms: keepAlive.result.p99Ms,
  };
}

/** Resolves when GET / over TLS on `port` answers 200. */
async function waitUntilServingTls(started: Started, port: number): Promise<void> {
  const deadline = Date.now() + 15_000;
  while (Date.now() < deadline && started.child.exitCode === null) {
    const status = await new Promise<number | undefined>((done) => {
      const req = request(
        { host: "127.0.0.1", port, path: "/", rejectUnauthorized: false, agent: false },
        (res) => {
          res.resume();
          res.on("end", () => done(res.statusCode));
        },
      );
      req.setTimeout(1000, () => req.destroy());
      req.on("error", () => done(undefined));
      req.end();
    });
    if (status === 200) return;
    await new Promise((wake) => setTimeout(wake, 100));
  }
  throw new Error(
    `${started.name} did not answer 200 over TLS on ${port}:\n${started.output.join("\n")}`,
  );
}

function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  const mid = sorted.length >> 1;
  return sorted.length % 2 ? sorted[mid] : (sorted[mid - 1] + sorted[mid]) / 2;
}

function printTable(results: Map<string, Figures>): void {
  const nginx = results.get("nginx");
  const columns: [string, keyof Figures][] = [
    ["keep-alive req/CPU-s", "keepAlive"],
    ["new handshakes/CPU-s", "newHandshakes"],
    ["resumed/CPU-s", "resumedHandshakes"],
    ["keep-alive p99 ms", "keepAliveP99Ms"],
  ];
  const rows = [["target", ...columns.flatMap(([title]) => [title, ":nginx"])]];
  for (const [name, figures] of results) {
    rows.push([
      name,
      ...columns.flatMap(([, key]) => [
        key === "keepAliveP99Ms" ? figures[key].toFixed(3) : figures[key].toFixed(0),
        nginx ? `${(figures[key] / nginx[key]).toFixed(2)}x` : "-",
      ]),
    ]);
  }
  const widths = rows[0].map((_, column) => Math.max(...rows.map((row) => row[column].length)));
  for (const row of rows) console.log(row.map((cell, i) => cell.padStart(widths[i])).join("  "));
}

runInWorkDir("ballast-bench-tls-", async (dir) => {
  const tls = makeCertificate(dir);
  const backendPort = await freePort();
  const backendFile = join(dir, "backend.conf");
  await writeFile(backendFile, nginxBackendConfig(dir, backendPort));
  const backend = start("backend nginx", LOAD_CORE, nginxCommand(dir, backendFile));
  await waitUntilServing(backend, backendPort);
  console.log(
    `TLS (ECDSA P-256): wrk -c${connections} keep-alive and openssl s_time -new/-reuse, ` +
      `${durationSeconds}s each, ${rounds} round(s), medians; ` +
      (twoCores ? "proxy on core 0, backend and load on core 1" : "one core: no pinning"),
  );
  const samples = new Map<string, Figures[]>();
  for (let round = 1; round <= rounds; round++) {
    for (const target of targets) {
      if (only && !only.includes(target.name)) continue;
      const port = await freePort();
      const started = await target.launch(dir, port, backendPort, tls);
      try {
        await waitUntilServingTls(started, port);
        samples.set(target.name, [
          ...(samples.get(target.name) ?? []),
          await measure(started, port),
        ]);
      } catch (error) {
        console.error(`${target.name}: ${(error as Error).message}`);
      } finally {
        await stop(started);
      }
    }
  }
  const results = new Map<string, Figures>();
  for (const [name, list] of samples) {
    const pick = (key: keyof Figures) => median(list.map((figures) => figures[key]));
    results.set(name, {
      keepAlive: pick("keepAlive"),
      newHandshakes: pick("newHandshakes"),
      resumedHandshakes: pick("resumedHandshakes"),
      keepAliveP99Ms: pick("keepAliveP99Ms"),
    });
  }
  printTable(results);
});
