/**
 * Real servers from Debian's packages, started in temp dirs on free loopback ports:
 * redis-server, PostgreSQL, dnsmasq and nginx. Each returns a `stop` that kills the process
 * and removes its files. The benchmark uses them too.
 */

import { createSocket } from "node:dgram";
import { chownSync, existsSync, mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { connect, createServer } from "node:net";
import { join } from "node:path";
import { type Daemon, freePort, run, startDaemon, tempDir, waitFor } from "./helpers.js";

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

/** A redis-server without persistence on 127.0.0.1. */
export async function startRedis(): Promise<RealServer> {
  const dir = tempDir("redis");
  const port = await freePort();
  const daemon = startDaemon("redis-server", [
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
  await waitFor(() => canConnect(port), 10_000);
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

/** A number from `redis-cli INFO` (for example `total_commands_processed`). */
export async function redisInfo(port: number, field: string): Promise<number> {
  const result = await run(
    "redis-cli",
    ["-h", "127.0.0.1", "-p", String(port), "info", "stats"],
    10_000,
  );
  const match = new RegExp(`^${field}:(\\d+)`, "m").exec(result.stdout);
  if (match === null) throw new Error(`no ${field} in INFO: ${result.stdout}${result.stderr}`);
  return Number(match[1]);
}

const PG_BIN = "/usr/lib/postgresql/15/bin";

/**
 * A PostgreSQL cluster made by initdb in a temp dir owned by the postgres user (the server
 * refuses to run as root), trusting local connections, listening on 127.0.0.1.
 */
export async function startPostgres(): Promise<RealServer> {
  const dir = tempDir("pg");
  chownSync(dir.path, uid("postgres"), gid("postgres"));
  const data = join(dir.path, "data");
  const sockets = join(dir.path, "sock");
  const asPostgres = (args: string[]) => ["-u", "postgres", "--", ...args];
  const init = await run(
    "runuser",
    asPostgres([join(PG_BIN, "initdb"), "-D", data, "-A", "trust", "-U", "postgres", "--no-sync"]),
    120_000,
  );
  if (init.code !== 0) throw new Error(`initdb failed: ${init.stderr}`);
  await run("runuser", asPostgres(["mkdir", "-p", sockets]));
  const port = await freePort();
  const daemon = startDaemon(
    "runuser",
    asPostgres([
      join(PG_BIN, "postgres"),
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
  await waitFor(async () => {
    const ready = await run(join(PG_BIN, "pg_isready"), ["-h", "127.0.0.1", "-p", String(port)]);
    return ready.code === 0;
  }, 30_000);
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

/** Runs one SQL statement with psql and returns its unaligned output. */
export async function psql(port: number, sql: string): Promise<string> {
  const result = await run(
    join(PG_BIN, "psql"),
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
  const dir = tempDir("dnsmasq");
  const port = await portFreeForTcpAndUdp();
  const daemon = startDaemon("dnsmasq", [
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
    await waitFor(async () => {
      if (daemon.process.exitCode !== null) {
        throw new Error(`dnsmasq exited with ${daemon.process.exitCode}: ${daemon.output()}`);
      }
      const answer = await run("dig", [
        "@127.0.0.1",
        "-p",
        String(port),
        "+short",
        "+tries=1",
        "+time=1",
        "x.test",
      ]);
      return answer.stdout.trim() === "1.2.3.4";
    }, 10_000);
  } catch (error) {
    await daemon.stop();
    dir.cleanup();
    throw error;
  }
  const before = countQueries(daemon.output());
  return {
    port,
    daemon,
    dir: dir.path,
    queries: () => countQueries(daemon.output()) - before,
    stop: async () => {
      await daemon.stop();
      dir.cleanup();
    },
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

/** nginx (http) with a `proxy_protocol` listener, logging `$proxy_protocol_addr` per request. */
export async function startNginxWithProxyProtocol(): Promise<RealServer & { accessLog(): string }> {
  const dir = tempDir("nginx");
  const port = await freePort();
  const log = join(dir.path, "access.log");
  mkdirSync(join(dir.path, "tmp"));
  writeFileSync(
    join(dir.path, "nginx.conf"),
    `worker_processes 1;
pid ${join(dir.path, "nginx.pid")};
error_log ${join(dir.path, "error.log")} warn;
events { worker_connections 256; }
http {
  access_log off;
  client_body_temp_path ${join(dir.path, "tmp")};
  proxy_temp_path ${join(dir.path, "tmp")};
  fastcgi_temp_path ${join(dir.path, "tmp")};
  uwsgi_temp_path ${join(dir.path, "tmp")};
  scgi_temp_path ${join(dir.path, "tmp")};
  log_format pp '$proxy_protocol_addr $proxy_protocol_port $remote_addr "$request"';
  server {
    listen 127.0.0.1:${port} proxy_protocol;
    access_log ${log} pp;
    location / { return 200 "client=$proxy_protocol_addr\\n"; }
  }
}
`,
  );
  const daemon = startDaemon("nginx", [
    "-p",
    dir.path,
    "-c",
    join(dir.path, "nginx.conf"),
    "-g",
    "daemon off;",
  ]);
  await waitFor(() => canConnect(port), 10_000);
  return {
    port,
    daemon,
    dir: dir.path,
    accessLog: () => (existsSync(log) ? readFileSync(log, "utf8") : ""),
    stop: async () => {
      await daemon.stop();
      dir.cleanup();
    },
  };
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
