/**
 * The memory benchmark: what an idle proxy costs, and what each open idle connection adds,
 * for ballast, nginx and HAProxy, as an HTTP keep-alive proxy and as a TCP proxy.
 *
 * Each proxy starts alone in front of one nginx backend. Its memory (PSS of its processes)
 * is read idle, then after BENCH_IDLE_CONNECTIONS connections have each made one request
 * and stayed open. For HTTP the client connection idles in keep-alive (upstream connections
 * are pooled); for TCP every client connection holds its own backend connection, as it must.
 *
 * Environment: BENCH_IDLE_CONNECTIONS (default 9000: a TCP proxy needs two descriptors per
 * connection, and HAProxy will not start with more connections than half the machine's
 * open-files hard limit allows, commonly 20,000), BENCH_ONLY (comma-separated target names
 * such as "ballast http").
 */
import { writeFileSync } from "node:fs";
import { connect, type Socket } from "node:net";
import { join } from "node:path";
import { setTimeout as sleep } from "node:timers/promises";
import {
  BACKEND_BODY,
  ballastConfig,
  haproxyConfig,
  nginxBackendConfig,
  nginxProxyConfig,
} from "../http/configs.js";
import { ballastCommand, nginxCommand, runInWorkDir } from "../http/harness.js";
import {
  freePort,
  groupMemoryKilobytes,
  type Started,
  start,
  stop,
  waitUntilServing,
} from "../http/processes.js";
import { haproxy as haproxyTcp, nginxStream } from "../tcp/proxies.js";

const idleConnections = Number(process.env.BENCH_IDLE_CONNECTIONS ?? 9000);
const only = process.env.BENCH_ONLY?.split(",").map((name) => name.trim());
/** Connections being opened at once: enough to be quick, few enough not to hit backlogs. */
const OPENING_AT_ONCE = 200;

type Launch = (dir: string, port: number, backendPort: number) => Started;

/** ballast from its CLI: the whole process a user runs, admin API and all. */
function startBallast(dir: string, name: string, config: string): Started {
  const file = join(dir, `${name}.json`);
  writeFileSync(file, config);
  return start(name, undefined, ballastCommand(file));
}

function ballastTcpConfig(port: number, backendPort: number): string {
  return JSON.stringify({
    log: { level: "warn" },
    listeners: [{ name: "bench", protocol: "tcp", bind: `127.0.0.1:${port}`, pool: "backend" }],
    pools: { backend: { algorithm: "rr", backends: [{ address: `127.0.0.1:${backendPort}` }] } },
  });
}

const targets: { name: string; launch: Launch }[] = [
  {
    name: "nginx http",
    launch: (dir, port, backendPort) => {
      const file = join(dir, "nginx-http.conf");
      writeFileSync(file, nginxProxyConfig(dir, port, backendPort));
      return start("nginx http", undefined, nginxCommand(dir, file));
    },
  },
  {
    name: "haproxy http",
    launch: (dir, port, backendPort) => {
      const file = join(dir, "haproxy-http.cfg");
      writeFileSync(file, haproxyConfig(port, backendPort));
      return start("haproxy http", undefined, ["haproxy", "-f", file, "-db"]);
    },
  },
  {
    name: "ballast http",
    launch: (dir, port, backendPort) =>
      startBallast(dir, "ballast-http", ballastConfig(port, backendPort)),
  },
  {
    name: "nginx tcp",
    launch: (dir, port, backendPort) =>
      start(
        "nginx tcp",
        undefined,
        nginxStream.command(dir, [{ listen: port, backend: backendPort }]),
      ),
  },
  {
    name: "haproxy tcp",
    launch: (dir, port, backendPort) =>
      start(
        "haproxy tcp",
        undefined,
        haproxyTcp.command(dir, [{ listen: port, backend: backendPort }]),
      ),
  },
  {
    name: "ballast tcp",
    launch: (dir, port, backendPort) =>
      startBallast(dir, "ballast-tcp", ballastTcpConfig(port, backendPort)),
  },
];

/** One connection that made a keep-alive request, got the whole answer, and stays open. */
function openIdleConnection(port: number): Promise<Socket> {
  return new Promise((resolve, reject) => {
    const socket = connect({ host: "127.0.0.1", port });
    let received = "";
    const fail = (error: Error) => {
      socket.destroy();
      reject(error);
    };
    socket.setTimeout(10_000, () => fail(new Error("no answer within 10 s")));
    socket.once("error", fail);
    socket.once("close", () => fail(new Error("closed before the answer")));
    socket.on("data", (chunk) => {
      received += chunk.toString("latin1");
      if (!received.endsWith(BACKEND_BODY)) return;
      socket.removeAllListeners();
      socket.setTimeout(0);
      socket.on("error", () => {}); // counted by `destroyed` when the figures are read
      resolve(socket);
    });
    socket.write("GET / HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n");
  });
}

/** Opens `count` idle connections, a bounded number at a time; failures are counted. */
async function openIdleConnections(port: number, count: number) {
  const sockets: Socket[] = [];
  let failures = 0;
  let next = 0;
  const opener = async () => {
    while (next < count) {
      next++;
      try {
        sockets.push(await openIdleConnection(port));
      } catch {
        failures++;
      }
    }
  };
  await Promise.all(Array.from({ length: OPENING_AT_ONCE }, opener));
  return { sockets, failures };
}

interface Figures {
  idleKilobytes: number;
  loadedKilobytes: number;
  open: number;
  failures: number;
}

async function measure(dir: string, launch: Launch, backendPort: number): Promise<Figures> {
  const port = await freePort();
  const started = launch(dir, port, backendPort);
  try {
    await waitUntilServing(started, port);
    await sleep(1000); // start-up garbage collected, caches settled
    const pgid = started.child.pid as number;
    const idleKilobytes = groupMemoryKilobytes(pgid) ?? Number.NaN;
    const { sockets, failures } = await openIdleConnections(port, idleConnections);
    await sleep(2000);
    const loadedKilobytes = groupMemoryKilobytes(pgid) ?? Number.NaN;
    const open = sockets.filter((socket) => !socket.destroyed).length;
    for (const socket of sockets) socket.destroy();
    return { idleKilobytes, loadedKilobytes, open, failures };
  } finally {
    await stop(started);
  }
}

function printTable(results: Map<string, Figures>): void {
  const perConnection = (figures: Figures) =>
    (figures.loadedKilobytes - figures.idleKilobytes) / Math.max(1, figures.open);
  const rows = [
    [
      "target",
      "idle MiB",
      `MiB with ${idleConnections}`,
      "open",
      "failed",
      "KiB/conn",
      "KiB/conn:nginx",
    ],
  ];
  for (const [name, figures] of results) {
    const nginx = results.get(`nginx ${name.split(" ")[1]}`);
    rows.push([
      name,
      (figures.idleKilobytes / 1024).toFixed(1),
      (figures.loadedKilobytes / 1024).toFixed(1),
      String(figures.open),
      String(figures.failures),
      perConnection(figures).toFixed(2),
      nginx ? `${(perConnection(figures) / perConnection(nginx)).toFixed(2)}x` : "-",
    ]);
  }
  const widths = rows[0].map((_, column) => Math.max(...rows.map((row) => row[column].length)));
  for (const row of rows) console.log(row.map((cell, i) => cell.padStart(widths[i])).join("  "));
}

runInWorkDir("ballast-bench-memory-", async (dir) => {
  const backendPort = await freePort();
  const backendFile = join(dir, "backend.conf");
  writeFileSync(backendFile, nginxBackendConfig(dir, backendPort));
  const backend = start("backend nginx", undefined, nginxCommand(dir, backendFile));
  await waitUntilServing(backend, backendPort);
  console.log(
    `memory (PSS) idle and with ${idleConnections} idle connections that made one request`,
  );
  const results = new Map<string, Figures>();
  for (const target of targets) {
    if (only && !only.includes(target.name)) continue;
    try {
      results.set(target.name, await measure(dir, target.launch, backendPort));
    } catch (error) {
      console.error(`${target.name}: ${(error as Error).message}`);
    }
  }
  printTable(results);
});
