/**
 * Real servers from Debian's packages, started in temp dirs on free loopback ports:
 * redis-server, PostgreSQL, dnsmasq and nginx. Each returns a `stop` that kills the process
 * and removes its files. A server whose program is not installed fails the test at once,
 * naming the program and the command that installs it.
 */

import { createSocket } from "node:dgram";
import { chownSync, existsSync, mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { connect, createServer } from "node:net";
import { join } from "node:path";
import { type Daemon, run, startDaemon } from "./daemon.js";
import { freePort } from "./ports.js";
import { requireProgram } from "./programs.js";
import { tempDir } from "./temp-dir.js";
import { waitFor } from "./wait.js";

/** A started server: where it listens and how to stop it. */
export interface RealServer {
  port: number;
  daemon: Daemon;
  dir: string;
  stop(): Promise<void>;
}

function canConnect(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = connect(port, "127.0.0.1");
    socket.once("connect", () => {
      socket.destroy();
      resolve(true);
    });
    socket.once("error", () => resolve(false));
  });
}

/** A redis-server without persistence on 127.0.0.1, on `port` or a free one. */
export async function startRedis(options: { port?: number } = {}): Promise<RealServer> {
  const program = requireProgram("redis-server");
  const dir = tempDir("redis");
  const port = options.port ?? (await freePort());
  const daemon = startDaemon(program, [
    "--port",
    String(port),
    "--bind",
    "127.0.0.1",
    "--save",
    "",
    "--appendonly",
    "no",
    "--dir",
    dir.path,
    "--maxclients",
    "1000",
  ]);
  await waitForDaemon(daemon, `redis-server on port ${port}`, () => canConnect(port));
  return realServer(port, daemon, dir);
}

/** A RealServer whose `stop` ends the daemon, then removes its temp dir. */
function realServer(
  port: number,
  daemon: Daemon,
  dir: { path: string; cleanup(): void },
): RealServer {
  return {
    port,
    daemon,
    dir: dir.path,
    stop: async () => {
      await daemon.stop();
      dir.cleanup();
    },
  };
}

/** Waits until a started daemon serves; fails with its output if it exits first. */
async function waitForDaemon(
  daemon: Daemon,
  what: string,
  serving: () => Promise<boolean>,
  limitMs = 10_000,
): Promise<void> {
  await waitFor(
    what,
    async () => {
      const { exitCode, signalCode } = daemon.process;
      if (exitCode !== null || signalCode !== null) {
        throw new Error(`${what} exited (${exitCode ?? signalCode}): ${daemon.output()}`);
      }
      return serving();
    },
    limitMs,
    50,
  );
}

/** A number from `redis-cli INFO` (for example `total_commands_processed`). */
export async function redisInfo(port: number, field: string): Promise<number> {
  const result = await run(
    requireProgram("redis-cli"),
    ["-h", "127.0.0.1", "-p", String(port), "info", "stats"],
    10_000,
  );
  const match = new RegExp(`^${field}:(\\d+)`, "m").exec(result.stdout);
  if (match === null) throw new Error(`no ${field} in INFO: ${result.stdout}${result.stderr}`);
  return Number(match[1]);
}

/**
 * A PostgreSQL cluster made by initdb in a temp dir, trusting local connections, listening on
 * 127.0.0.1. As root, it runs as the postgres user (the server refuses to run as root).
 */
export async function startPostgres(): Promise<RealServer> {
  const initdb = requireProgram("initdb");
  const postgres = requireProgram("postgres");
  const pgIsReady = requireProgram("pg_isready");
  const dir = tempDir("pg");
  const asRoot = process.getuid?.() === 0;
  const runuser = asRoot ? requireProgram("runuser") : "";
  if (asRoot) chownSync(dir.path, uid("postgres"), gid("postgres"));
  const data = join(dir.path, "data");
  const sockets = join(dir.path, "sock");
  // [command, args] run as the postgres user when this is root, as this user otherwise.
  const asPostgres = (command: string, args: string[]): [string, string[]] =>
    asRoot ? [runuser, ["-u", "postgres", "--", command, ...args]] : [command, args];
  const init = await run(
    ...asPostgres(initdb, ["-D", data, "-A", "trust", "-U", "postgres", "--no-sync"]),
    120_000,
  );
  if (init.code !== 0) throw new Error(`initdb failed: ${init.stderr}`);
  await run(...asPostgres("mkdir", ["-p", sockets]));
  const port = await freePort();
  const daemon = startDaemon(
    ...asPostgres(postgres, [
      "-D",
      data,
      "-p",
      String(port),
      "-k",
      sockets,
      "-c",
      "listen_addresses=127.0.0.1",
      "-c",
      "fsync=off",
      "-c",
      "synchronous_commit=off",
      "-c",
      "max_connections=50",
    ]),
  );
  await waitForDaemon(
    daemon,
    `postgres on port ${port}`,
    async () => (await run(pgIsReady, ["-h", "127.0.0.1", "-p", String(port)])).code === 0,
    30_000,
  );
  return realServer(port, daemon, dir);
}

/** Runs one SQL statement with psql and returns its unaligned output. */
export async function psql(port: number, sql: string): Promise<string> {
  const result = await run(
    requireProgram("psql"),
    ["-h", "127.0.0.1", "-p", String(port), "-U", "postgres", "-At", "-c", sql],
    30_000,
  );
  if (result.code !== 0) throw new Error(`psql failed: ${result.stderr}`);
  return result.stdout.trim();
}

/** dnsmasq answering `x.test` with 1.2.3.4 and `who.test` with `who`, no upstream resolvers. */
export async function startDnsmasq(who: string): Promise<RealServer & { queries(): number }> {
  // dnsmasq binds TCP and UDP on its port; a port free for one may be taken for the other
  // while other tests run, so a failed start is retried on another port.
  for (let attempt = 1; ; attempt++) {
    try {
      return await startDnsmasqOnce(who);
    } catch (error) {
      if (attempt >= 5) throw error;
    }
  }
}

async function startDnsmasqOnce(who: string): Promise<RealServer & { queries(): number }> {
  const dnsmasq = requireProgram("dnsmasq");
  const dig = requireProgram("dig");
  const dir = tempDir("dnsmasq");
  const port = await portFreeForTcpAndUdp();
  const daemon = startDaemon(dnsmasq, [
    "--no-daemon",
    "--conf-file=/dev/null",
    `--port=${port}`,
    "--listen-address=127.0.0.1",
    "--bind-interfaces",
    "--no-resolv",
    "--no-hosts",
    "--no-negcache",
    "--cache-size=0",
    "--log-queries",
    "--log-facility=-",
    `--pid-file=${join(dir.path, "dnsmasq.pid")}`,
    "--address=/x.test/1.2.3.4",
    `--address=/who.test/${who}`,
  ]);
  try {
    await waitForDaemon(daemon, `dnsmasq on port ${port}`, async () => {
      const answer = await run(dig, [
        "@127.0.0.1",
        "-p",
        String(port),
        "+short",
        "+tries=1",
        "+time=1",
        "x.test",
      ]);
      return answer.stdout.trim() === "1.2.3.4";
    });
  } catch (error) {
    await daemon.stop();
    dir.cleanup();
    throw error;
  }
  const before = countQueries(daemon.output());
  return {
    ...realServer(port, daemon, dir),
    queries: () => countQueries(daemon.output()) - before,
  };
}

/**
 * A port below the kernel's ephemeral range (where the other tests' many short TCP
 * connections and their TIME_WAIT entries live), free for both TCP and UDP right now.
 */
async function portFreeForTcpAndUdp(): Promise<number> {
  for (;;) {
    const port = 20_000 + Math.floor(Math.random() * 12_000);
    if ((await canBind("tcp", port)) && (await canBind("udp", port))) return port;
  }
}

function canBind(kind: "tcp" | "udp", port: number): Promise<boolean> {
  return new Promise((resolve) => {
    if (kind === "udp") {
      const socket = createSocket("udp4");
      socket.once("error", () => resolve(false));
      socket.bind(port, "127.0.0.1", () => socket.close(() => resolve(true)));
      return;
    }
    const server = createServer();
    server.once("error", () => resolve(false));
    server.listen(port, "127.0.0.1", () => server.close(() => resolve(true)));
  });
}

function countQueries(log: string): number {
  return log.split("\n").filter((line) => / query\[/.test(line)).length;
}

/**
 * nginx in the foreground in a temp dir, serving the `server { }` blocks that `servers`
 * returns for the free ports it is given (one per block) and the temp dir's path.
 */
export async function startNginx(
  blocks: number,
  servers: (ports: number[], dir: string) => string,
): Promise<RealServer & { ports: number[] }> {
  const nginx = requireProgram("nginx");
  const dir = tempDir("nginx");
  const ports: number[] = [];
  for (let i = 0; i < blocks; i++) ports.push(await freePort());
  const temp = join(dir.path, "tmp");
  mkdirSync(temp);
  writeFileSync(
    join(dir.path, "nginx.conf"),
    `${process.getuid?.() === 0 ? "user root; # its workers can then use the temp dir\n" : ""}worker_processes 1;
pid ${join(dir.path, "nginx.pid")};
error_log ${join(dir.path, "error.log")} warn;
events { worker_connections 256; }
http {
  access_log off;
${["client_body", "proxy", "fastcgi", "uwsgi", "scgi"].map((kind) => `  ${kind}_temp_path ${temp};`).join("\n")}
${servers(ports, dir.path)}
}
`,
  );
  const daemon = startDaemon(nginx, [
    ...["-p", dir.path, "-e", join(dir.path, "error.log"), "-c", join(dir.path, "nginx.conf")],
    ...["-g", "daemon off;"],
  ]);
  try {
    for (const port of ports) {
      await waitForDaemon(daemon, `nginx on port ${port}`, () => canConnect(port));
    }
  } catch (error) {
    await daemon.stop();
    dir.cleanup();
    throw error;
  }
  return { ...realServer(ports[0], daemon, dir), ports };
}

/** nginx (http) with a `proxy_protocol` listener, logging `$proxy_protocol_addr` per request. */
export async function startNginxWithProxyProtocol(): Promise<RealServer & { accessLog(): string }> {
  let log = "";
  const nginx = await startNginx(1, ([port], dir) => {
    log = join(dir, "access.log");
    return `  log_format pp '$proxy_protocol_addr $proxy_protocol_port $remote_addr "$request"';
  server {
    listen 127.0.0.1:${port} proxy_protocol;
    access_log ${log} pp;
    location / { return 200 "client=$proxy_protocol_addr\\n"; }
  }`;
  });
  return { ...nginx, accessLog: () => (existsSync(log) ? readFileSync(log, "utf8") : "") };
}

function uid(user: string): number {
  return Number(
    readFileSync("/etc/passwd", "utf8")
      .split("\n")
      .find((l) => l.startsWith(`${user}:`))!
      .split(":")[2],
  );
}

function gid(user: string): number {
  return Number(
    readFileSync("/etc/passwd", "utf8")
      .split("\n")
      .find((l) => l.startsWith(`${user}:`))!
      .split(":")[3],
  );
}
