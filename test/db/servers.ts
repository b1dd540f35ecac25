/**
 * Replicated database servers from Debian's packages, started in temp dirs on free loopback
 * ports: MariaDB (one primary, replicas by GTID), PostgreSQL (a primary and a streaming
 * standby from pg_basebackup -R) and Redis (a primary and a --replicaof replica).
 */
import { chownSync, cpSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { type Daemon, run, startDaemon } from "../support/daemon.js";
import { freePort } from "../support/ports.js";
import { requireProgram } from "../support/programs.js";
import { tempDir } from "../support/temp-dir.js";
import { waitFor } from "../support/wait.js";

/** The check user every MariaDB server knows (replicated from the primary). */
export const MYSQL_CHECK = { user: "ballast_check", password: "check-secret" };
/** The user sysbench and the tests' writes log in as, on the `sbtest` database. */
export const MYSQL_APP = { user: "app", password: "app-secret", database: "sbtest" };

/** One mariadbd of the cluster. */
export interface MysqlServer {
  name: string;
  port: number;
  socket: string;
  daemon: Daemon;
  /** Runs SQL as root over the unix socket; rejects with the client's error. */
  sql(statement: string): Promise<string>;
}

/** A MariaDB primary and its replicas. */
export interface MysqlCluster {
  servers: MysqlServer[];
  stop(): Promise<void>;
}

/** Speed over durability: these servers live for one test run. */
const MARIADB_FAST = [
  "--innodb-log-file-size=8M",
  "--innodb-flush-method=nosync",
  "--innodb-doublewrite=0",
  "--innodb-flush-log-at-trx-commit=0",
  "--innodb-buffer-pool-size=32M",
  "--skip-name-resolve",
];

/**
 * Starts `1 + replicas` servers: one data dir is made by mariadb-install-db and copied, so
 * the servers start in parallel; the replicas follow the primary by GTID from its first
 * binlog event, which also brings them the users created on the primary.
 */
export async function startMysqlCluster(replicas: number): Promise<MysqlCluster> {
  const dir = tempDir("mariadb");
  chownSync(dir.path, uid("mysql"), uid("mysql", 3));
  const seed = join(dir.path, "seed");
  const install = await run(
    requireProgram("mariadb-install-db"),
    [
      "--no-defaults",
      "--user=mysql",
      `--datadir=${seed}`,
      "--auth-root-authentication-method=socket",
      "--skip-test-db",
      ...MARIADB_FAST,
    ],
    120_000,
  );
  if (install.code !== 0) throw new Error(`mariadb-install-db failed: ${install.stderr}`);
  const servers: MysqlServer[] = [];
  for (let i = 0; i <= replicas; i++) {
    const data = join(dir.path, `server-${i}`);
    cpSync(seed, data, { recursive: true });
    await run(requireProgram("chown"), ["-R", "mysql:mysql", data]);
    const port = await freePort();
    const socket = join(data, "mysqld.sock");
    const daemon = startDaemon(requireProgram("mariadbd"), [
      "--no-defaults",
      "--user=mysql",
      `--datadir=${data}`,
      `--socket=${socket}`,
      `--pid-file=${join(data, "mysqld.pid")}`,
      `--port=${port}`,
      "--bind-address=127.0.0.1",
      `--server-id=${i + 1}`,
      "--log-bin=binlog",
      `--read-only=${i === 0 ? 0 : 1}`,
      `--log-error=${join(data, "error.log")}`,
      ...MARIADB_FAST,
    ]);
    const sql = async (statement: string) => {
      const result = await run(requireProgram("mariadb"), [
        "--no-defaults",
        "-S",
        socket,
        "-N",
        "-e",
        statement,
      ]);
      if (result.code !== 0) throw new Error(`mariadb on ${port}: ${result.stderr}`);
      return result.stdout.trim();
    };
    servers.push({ name: i === 0 ? "primary" : `replica-${i}`, port, socket, daemon, sql });
  }
  const stop = async () => {
    await Promise.all(servers.map((server) => server.daemon.stop()));
    dir.cleanup();
  };
  try {
    for (const server of servers) {
      await waitFor(
        "the expected state",
        async () => {
          if (server.daemon.process.exitCode !== null) throw new Error(server.daemon.output());
          return (
            (
              await run(requireProgram("mariadb"), [
                "--no-defaults",
                "-S",
                server.socket,
                "-e",
                "SELECT 1",
              ])
            ).code === 0
          );
        },
        60_000,
      );
    }
    const [primary] = servers;
    const user = (name: string, password: string) =>
      `CREATE USER '${name}'@'127.0.0.1' IDENTIFIED BY '${password}';`;
    await primary.sql(
      user("repl", "repl-secret") +
        "GRANT REPLICATION SLAVE ON *.* TO 'repl'@'127.0.0.1';" +
        user(MYSQL_CHECK.user, MYSQL_CHECK.password) +
        // SHOW REPLICA STATUS needs SLAVE MONITOR on MariaDB 10.5.9+ (REPLICATION CLIENT on MySQL).
        `GRANT SLAVE MONITOR ON *.* TO '${MYSQL_CHECK.user}'@'127.0.0.1';` +
        `CREATE DATABASE ${MYSQL_APP.database};` +
        user(MYSQL_APP.user, MYSQL_APP.password) +
        `GRANT ALL ON ${MYSQL_APP.database}.* TO '${MYSQL_APP.user}'@'127.0.0.1';`,
    );
    for (const replica of servers.slice(1)) await follow(replica, primary);
    return { servers, stop };
  } catch (error) {
    await stop();
    throw error;
  }
}

/** Points a replica at a primary and starts replication. */
export async function follow(replica: MysqlServer, primary: MysqlServer): Promise<void> {
  await replica.sql(
    "STOP SLAVE; CHANGE MASTER TO MASTER_HOST='127.0.0.1', " +
      `MASTER_PORT=${primary.port}, MASTER_USER='repl', MASTER_PASSWORD='repl-secret', ` +
      "MASTER_USE_GTID=slave_pos, MASTER_CONNECT_RETRY=1; START SLAVE;",
  );
}

/** A field of SHOW SLAVE STATUS on a replica (for example Seconds_Behind_Master). */
export async function replicaField(server: MysqlServer, field: string): Promise<string> {
  const result = await run(requireProgram("mariadb"), [
    "--no-defaults",
    "-S",
    server.socket,
    "-e",
    "SHOW SLAVE STATUS\\G",
  ]);
  const match = new RegExp(`^\\s*${field}: (.*)$`, "m").exec(result.stdout);
  return match?.[1] ?? "";
}

const PG_BIN = "/usr/lib/postgresql/15/bin";

/** A PostgreSQL server of a primary/standby pair. */
export interface PostgresServer {
  port: number;
  daemon: Daemon;
  data: string;
}

/** The check user of the PostgreSQL pair, logging in with SCRAM-SHA-256. */
export const PG_CHECK = { user: "ballast_check", password: "pg-check-secret" };

/**
 * A PostgreSQL primary and a streaming standby made by `pg_basebackup -R`, run as the
 * postgres user (the server refuses root). Local replication is trusted; the check user
 * logs in over TCP with SCRAM-SHA-256.
 */
export async function startPostgresPair(): Promise<{
  primary: PostgresServer;
  standby: PostgresServer;
  psql(server: PostgresServer, sql: string): Promise<string>;
  stop(): Promise<void>;
}> {
  const dir = tempDir("pgpair");
  chownSync(dir.path, uid("postgres"), uid("postgres", 3));
  const asPostgres = (args: string[]) => ["-u", "postgres", "--", ...args];
  const primaryData = join(dir.path, "primary");
  const init = await run(
    requireProgram("runuser"),
    asPostgres([
      join(PG_BIN, "initdb"),
      "-D",
      primaryData,
      "-A",
      "trust",
      "-U",
      "postgres",
      "--no-sync",
    ]),
    120_000,
  );
  if (init.code !== 0) throw new Error(`initdb failed: ${init.stderr}`);
  // The check user must prove its password; everything else on loopback is trusted.
  writeFileSync(
    join(primaryData, "pg_hba.conf"),
    `host all ${PG_CHECK.user} 127.0.0.1/32 scram-sha-256\n` +
      "host all all 127.0.0.1/32 trust\nhost replication all 127.0.0.1/32 trust\nlocal all all trust\n",
  );
  const started: Daemon[] = [];
  const startServer = async (data: string): Promise<PostgresServer> => {
    const port = await freePort();
    const daemon = startDaemon(
      requireProgram("runuser"),
      asPostgres([
        join(PG_BIN, "postgres"),
        "-D",
        data,
        "-p",
        String(port),
        "-k",
        dir.path,
        "-c",
        "listen_addresses=127.0.0.1",
        "-c",
        "fsync=off",
        "-c",
        "max_connections=20",
      ]),
    );
    started.push(daemon);
    await waitFor(
      "the expected state",
      async () => {
        if (daemon.process.exitCode !== null) throw new Error(daemon.output());
        return (
          (await run(join(PG_BIN, "pg_isready"), ["-h", "127.0.0.1", "-p", String(port)])).code ===
          0
        );
      },
      30_000,
    );
    return { port, daemon, data };
  };
  const stop = async () => {
    await Promise.all(started.map((daemon) => daemon.stop()));
    dir.cleanup();
  };
  const psql = async (server: PostgresServer, sql: string) => {
    const args = ["-h", "127.0.0.1", "-p", String(server.port), "-U", "postgres", "-At", "-c", sql];
    const result = await run(join(PG_BIN, "psql"), args, 30_000);
    if (result.code !== 0) throw new Error(`psql failed: ${result.stderr}`);
    return result.stdout.trim();
  };
  try {
    const primary = await startServer(primaryData);
    await psql(primary, `CREATE USER ${PG_CHECK.user} PASSWORD '${PG_CHECK.password}'`);
    await psql(primary, `CREATE DATABASE ${PG_CHECK.user} OWNER ${PG_CHECK.user}`);
    const standbyData = join(dir.path, "standby");
    const backup = await run(
      requireProgram("runuser"),
      asPostgres([
        join(PG_BIN, "pg_basebackup"),
        "-h",
        "127.0.0.1",
        "-p",
        String(primary.port),
        "-U",
        "postgres",
        "-D",
        standbyData,
        "-R",
        "-X",
        "stream",
        // Without it the backup waits for a spread checkpoint: minutes on an idle server.
        "--checkpoint=fast",
        "--no-sync",
      ]),
      120_000,
    );
    if (backup.code !== 0) throw new Error(`pg_basebackup failed: ${backup.stderr}`);
    const standby = await startServer(standbyData);
    return { primary, standby, psql, stop };
  } catch (error) {
    await stop();
    throw error;
  }
}

/** A Redis primary and a replica of it, without persistence. */
export async function startRedisPair(): Promise<{
  primary: { port: number; daemon: Daemon };
  replica: { port: number; daemon: Daemon };
  stop(): Promise<void>;
}> {
  const dir = tempDir("redispair");
  const start = async (extra: string[]) => {
    const port = await freePort();
    const args = [
      "--port",
      String(port),
      "--bind",
      "127.0.0.1",
      "--save",
      "",
      "--appendonly",
      "no",
    ];
    const daemon = startDaemon(requireProgram("redis-server"), [
      ...args,
      "--dir",
      dir.path,
      ...extra,
    ]);
    await waitFor(
      "the expected state",
      async () => {
        const ping = await run(requireProgram("redis-cli"), [
          "-h",
          "127.0.0.1",
          "-p",
          String(port),
          "PING",
        ]);
        return ping.stdout.includes("PONG");
      },
      10_000,
    );
    return { port, daemon };
  };
  // No 5 s wait for more replicas before the first sync.
  const primary = await start(["--repl-diskless-sync-delay", "0"]);
  const replica = await start(["--replicaof", "127.0.0.1", String(primary.port)]);
  return {
    primary,
    replica,
    stop: async () => {
      await Promise.all([primary.daemon.stop(), replica.daemon.stop()]);
      dir.cleanup();
    },
  };
}

/** The uid (field 2) or gid (field 3) of a system user, from /etc/passwd. */
function uid(user: string, field: 2 | 3 = 2): number {
  const line = readFileSync("/etc/passwd", "utf8")
    .split("\n")
    .find((entry) => entry.startsWith(`${user}:`));
  if (line === undefined) throw new Error(`no system user ${user}`);
  return Number(line.split(":")[field]);
}
