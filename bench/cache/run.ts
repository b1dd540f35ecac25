/**
 * The cache benchmark: wrk against cached responses (a small one and one of 100 KB) and a
 * response that is never stored (the miss path), through ballast, nginx `proxy_cache` and
 * Varnish, in the same run. Each cache runs alone on core 0; the nginx backend and wrk
 * share core 1. Prints requests/s, latency, and requests per CPU-second of the cache
 * process, each as a ratio to nginx. The harness (processes, wrk, pinning) is the HTTP
 * benchmark's.
 *
 * Environment: BENCH_DURATION (s, default 10), BENCH_CONNECTIONS (default 64), BENCH_ROUNDS
 * (default 1; with more, every target is measured once per round, the medians printed and
 * ballast's ratios to nginx given round by round, which evens out other load on the
 * machine), BENCH_ONLY (comma-separated: ballast, nginx, varnish), BENCH_PATHS
 * (comma-separated: small, 100k, miss), BENCH_PROFILE=1 (ballast under --cpu-prof; the
 * profile is kept and its folder printed). Varnish is measured when `varnishd` is installed
 * (Debian package `varnish`).
 */
import { spawnSync } from "node:child_process";
import { mkdir, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { nginxPreamble, nginxTempPaths, UPSTREAM_KEEPALIVE } from "../http/configs.js";
import {
  ballastCommand,
  LOAD_CORE,
  measureRun,
  nginxCommand,
  PROXY_CORE,
  runInWorkDir,
  twoCores,
} from "../http/harness.js";
import { freePort, type Started, start, stop, waitUntilServing } from "../http/processes.js";
import { type Measurement, medianOf, printRoundRatios, printTable } from "../http/report.js";

const load = {
  seconds: Number(process.env.BENCH_DURATION ?? 10),
  connections: Number(process.env.BENCH_CONNECTIONS ?? 64),
  warmupSeconds: 2,
};
const only = process.env.BENCH_ONLY?.split(",").map((name) => name.trim());
const paths = (process.env.BENCH_PATHS ?? "small,100k,miss").split(",").map((p) => p.trim());
const rounds = Math.max(1, Number(process.env.BENCH_ROUNDS ?? 1));
const profile = process.env.BENCH_PROFILE === "1";
/** Where `BENCH_PROFILE=1` leaves ballast's .cpuprofile files (kept after the run). */
const profileDir = join(tmpdir(), "ballast-bench-profiles");

/** What each measured path is: cached hits of two sizes, and a never-stored answer. */
const PATH_OF: Record<string, string> = { small: "/small", "100k": "/100k", miss: "/nostore" };

/** The backend: static files with a long lifetime, and one answer that is never stored. */
function backendConfig(dir: string, port: number): string {
  return `${nginxPreamble(dir, "backend")}http {
  access_log off;
${nginxTempPaths(dir, "backend")}
  keepalive_requests 1000000;
  server {
    listen 127.0.0.1:${port};
    root ${dir}/www;
    location / { default_type text/plain; add_header Cache-Control "max-age=3600"; }
    location /nostore { default_type text/plain; add_header Cache-Control "no-store"; return 200 "not stored\\n"; }
  }
}
`;
}

/** nginx with proxy_cache in front of the backend (its cache lives in files, as nginx's does). */
function nginxCacheConfig(dir: string, port: number, backendPort: number): string {
  return `${nginxPreamble(dir, "nginx-cache")}http {
  access_log off;
${nginxTempPaths(dir, "nginx-cache")}
  keepalive_requests 1000000;
  proxy_cache_path ${dir}/nginx-cache levels=1:2 keys_zone=bench:16m max_size=256m inactive=1h use_temp_path=off;
  upstream backend { server 127.0.0.1:${backendPort}; keepalive ${UPSTREAM_KEEPALIVE}; }
  server {
    listen 127.0.0.1:${port};
    location / {
      proxy_pass http://backend;
      proxy_http_version 1.1;
      proxy_set_header Connection "";
      proxy_cache bench;
      add_header X-Cache $upstream_cache_status;
    }
  }
}
`;
}

/** ballast with one caching route in front of the backend. */
function ballastConfig(port: number, backendPort: number): string {
  return JSON.stringify({
    log: { level: "warn" },
    caches: { bench: { max_size: "256mb" } },
    listeners: [
      {
        name: "bench",
        protocol: "http",
        bind: `127.0.0.1:${port}`,
        access_log: false,
        upstream_keepalive: UPSTREAM_KEEPALIVE,
        routes: [{ match: { path_prefix: "/" }, pool: "backend", cache: { zone: "bench" } }],
      },
    ],
    pools: { backend: { algorithm: "rr", backends: [{ address: `127.0.0.1:${backendPort}` }] } },
  });
}

interface Target {
  name: string;
  launch(dir: string, port: number, backendPort: number): Promise<Started>;
}

const hasVarnish = spawnSync("sh", ["-c", "command -v varnishd"]).status === 0;

const targets: Target[] = [
  {
    name: "nginx",
    launch: async (dir, port, backendPort) => {
      const file = join(dir, "nginx-cache.conf");
      await writeFile(file, nginxCacheConfig(dir, port, backendPort));
      return start("nginx", PROXY_CORE, nginxCommand(dir, file));
    },
  },
  {
    name: "varnish",
    launch: async (dir, port, backendPort) =>
      // -F: in the foreground; malloc storage (memory, like ballast's); default VCL.
      start("varnish", PROXY_CORE, [
        "varnishd",
        "-F",
        "-n",
        join(dir, "varnish"),
        "-a",
        `127.0.0.1:${port}`,
        "-b",
        `127.0.0.1:${backendPort}`,
        "-s",
        "malloc,256m",
        "-p",
        "thread_pools=1",
      ]),
  },
  {
    name: "ballast",
    launch: async (dir, port, backendPort) => {
      const file = join(dir, "ballast.json");
      await writeFile(file, ballastConfig(port, backendPort));
      const flags = profile ? ["--cpu-prof", `--cpu-prof-dir=${profileDir}`] : [];
      return start("ballast", PROXY_CORE, ballastCommand(file, flags));
    },
  },
];

runInWorkDir("ballast-bench-cache-", async (dir) => {
  await mkdir(join(dir, "www"));
  await writeFile(join(dir, "www", "index.html"), "ok\n");
  await writeFile(join(dir, "www", "small"), "hello from the benchmark backend\n");
  await writeFile(join(dir, "www", "100k"), Buffer.alloc(100 * 1024, "x"));
  const backendPort = await freePort();
  const backendFile = join(dir, "backend.conf");
  await writeFile(backendFile, backendConfig(dir, backendPort));
  const backend = start("backend nginx", LOAD_CORE, nginxCommand(dir, backendFile));
  await waitUntilServing(backend, backendPort);
  console.log(
    `wrk -t1 -c${load.connections} -d${load.seconds}s (after ${load.warmupSeconds}s warm-up that fills the cache); ` +
      (twoCores ? "cache on core 0, backend and wrk on core 1" : "one core: no pinning"),
  );
  if (!hasVarnish) console.log("varnishd not found: Varnish is left out (Debian package varnish)");
  if (profile) await mkdir(profileDir, { recursive: true });
  /** Per path, per target: one measurement per round. */
  const samples = new Map<string, Map<string, Measurement[]>>();
  for (let round = 1; round <= rounds; round++) {
    for (const target of targets) {
      if (only && !only.includes(target.name)) continue;
      if (target.name === "varnish" && !hasVarnish) continue;
      const port = await freePort();
      const started = await target.launch(dir, port, backendPort);
      try {
        await waitUntilServing(started, port);
        for (const name of paths) {
          // The warm-up fills the cache: the measured run is hits only (or misses only).
          const measured = await measureRun(port, PATH_OF[name], started.child.pid, load);
          if (!samples.has(name)) samples.set(name, new Map());
          const byTarget = samples.get(name)!;
          byTarget.set(target.name, [...(byTarget.get(target.name) ?? []), measured]);
          if (rounds > 1)
            console.log(
              `round ${round} ${name} ${target.name}: ${measured.requestsPerCpuSecond.toFixed(0)} req/CPU-s`,
            );
        }
      } catch (error) {
        console.error(`${target.name}: ${(error as Error).message}\n${started.output.join("\n")}`);
      } finally {
        await stop(started, profile && target.name === "ballast" ? 15_000 : 5000);
      }
    }
  }
  for (const [name, byTarget] of samples) {
    console.log(
      `\n${name} (${PATH_OF[name]}${name === "miss" ? ", Cache-Control: no-store" : ", cached"})` +
        (rounds > 1 ? `, medians of ${rounds} rounds` : ""),
    );
    if (rounds > 1) printRoundRatios(byTarget);
    const table = new Map<string, Measurement>();
    for (const [target, list] of byTarget) table.set(target, medianOf(list));
    printTable(table);
  }
  if (profile) console.log(`CPU profile of ballast in ${profileDir}`);
});
