/**
 * A real MariaDB primary and two replicas behind two tcp listeners, the way HAProxy and LVS
 * sites split reads from writes: a write port over `role: primary` and a read port over
 * `role: replica` with `fallback_to_primary`. The mysql check finds the roles and the lag;
 * sysbench runs through both ports; a lagging replica leaves the read pool; a promotion moves
 * the write port with no reload.
 */
import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import { pino } from "pino";
import { configSchema } from "../../src/config/schema/index.js";
import type { Pool } from "../../src/pool/pool.js";
import { Runtime } from "../../src/runtime/runtime.js";
import { run } from "../support/daemon.js";
import { requireProgram } from "../support/programs.js";
import { waitFor } from "../support/wait.js";
import {
  follow,
  MYSQL_APP,
  MYSQL_CHECK,
  type MysqlCluster,
  type MysqlServer,
  replicaField,
  startMysqlCluster,
} from "./servers.js";

/** The check bound: interval × fall (+ one check's time) until a change is seen. */
const CHECK = { interval: "200ms", timeout: "1s", rise: 1, fall: 2, jitter: 0 };
const MAX_LAG_SECONDS = 2;

let cluster: MysqlCluster;
let runtime: Runtime;
let primary: MysqlServer;
let replica1: MysqlServer;
let replica2: MysqlServer;
const logLines: string[] = [];

const writePool = (): Pool => runtime.pools.get("db-write")!;
const readPool = (): Pool => runtime.pools.get("db-read")!;
const portOf = (listener: string) => runtime.listeners.get(listener)!.address().port;
const available = (pool: Pool) =>
  pool.backends
    .filter((b) => b.available)
    .map((b) => b.id)
    .sort();

/** Runs SQL as the application user through one of the balancer's ports. */
function throughPort(port: number, sql: string) {
  return run(requireProgram("mariadb"), [
    "--no-defaults",
    "-h",
    "127.0.0.1",
    "-P",
    String(port),
    "-u",
    MYSQL_APP.user,
    `-p${MYSQL_APP.password}`,
    "--connect-timeout=3",
    "-N",
    "-e",
    sql,
    MYSQL_APP.database,
  ]);
}

before(async () => {
  cluster = await startMysqlCluster(2);
  [primary, replica1, replica2] = cluster.servers;
  const backends = cluster.servers.map((s) => ({ name: s.name, address: `127.0.0.1:${s.port}` }));
  const check = { type: "mysql", ...MYSQL_CHECK, ...CHECK };
  const config = configSchema.parse({
    listeners: [
      { name: "write", protocol: "tcp", bind: "127.0.0.1:0", pool: "db-write" },
      { name: "read", protocol: "tcp", bind: "127.0.0.1:0", pool: "db-read" },
    ],
    pools: {
      "db-write": { algorithm: "lc", role: "primary", backends, health_check: check },
      "db-read": {
        algorithm: "lc",
        role: "replica",
        fallback_to_primary: true,
        backends,
        health_check: { ...check, max_lag: `${MAX_LAG_SECONDS}s` },
      },
    },
  });
  const logger = pino({ level: "info" }, { write: (line: string) => logLines.push(line) });
  runtime = new Runtime(config, { logger });
  await runtime.start();
  await waitFor(
    "the expected state",
    () => available(writePool()).length === 1 && available(readPool()).length === 2,
    15_000,
  );
});

after(async () => {
  await runtime?.stop({ graceful: false });
  await cluster?.stop();
});

describe("MySQL read/write split over a real MariaDB primary and two replicas", () => {
  it("the write port reaches the primary only, the read port the replicas only", async () => {
    assert.deepEqual(available(writePool()), ["primary"]);
    assert.deepEqual(available(readPool()), ["replica-1", "replica-2"]);
    assert.equal(readPool().get("replica-1")?.role, "replica");
    const written = await throughPort(portOf("write"), "SELECT @@server_id, @@read_only");
    assert.equal(written.stdout.trim(), "1\t0", written.stderr);
    for (let i = 0; i < 4; i++) {
      const read = await throughPort(portOf("read"), "SELECT @@read_only");
      assert.equal(read.stdout.trim(), "1", read.stderr);
    }
  });

  it("sysbench read-only through the read port and write-only through the write port: no errors", async () => {
    const common = [
      "--db-driver=mysql",
      "--mysql-host=127.0.0.1",
      `--mysql-user=${MYSQL_APP.user}`,
      `--mysql-password=${MYSQL_APP.password}`,
      `--mysql-db=${MYSQL_APP.database}`,
      "--tables=2",
      "--table-size=500",
    ];
    const prepare = await run(
      requireProgram("sysbench"),
      ["oltp_write_only", ...common, `--mysql-port=${portOf("write")}`, "prepare"],
      60_000,
    );
    assert.equal(prepare.code, 0, prepare.stderr + prepare.stdout);
    // The replicas have the tables once replication has applied the prepare.
    for (const replica of [replica1, replica2]) {
      await waitFor(
        "the expected state",
        async () => (await replica.sql("SELECT COUNT(*) FROM sbtest.sbtest2")) === "500",
        15_000,
      ).catch(() => assert.fail(`${replica.name} did not replicate the sysbench tables`));
    }
    const picksBefore = readPool().get("primary")!.counters.picks;
    const bench = (test: string, port: number, threads: number) =>
      run(
        requireProgram("sysbench"),
        [test, ...common, `--mysql-port=${port}`, `--threads=${threads}`, "--time=4", "run"],
        30_000,
      );
    const [reads, writes] = await Promise.all([
      bench("oltp_read_only", portOf("read"), 4),
      // One writer: two would deadlock each other inside InnoDB now and then (sysbench
      // retries and counts those as ignored errors; they are not the balancer's).
      bench("oltp_write_only", portOf("write"), 1),
    ]);
    for (const [name, result] of [
      ["read-only", reads],
      ["write-only", writes],
    ] as const) {
      assert.equal(result.code, 0, `${name}: ${result.stderr}${result.stdout}`);
      assert.match(result.stdout, /ignored errors:\s+0\s/, `${name}: ${result.stdout}`);
      assert.match(result.stdout, /transactions:\s+[1-9]/, `${name}: no transaction completed`);
    }
    assert.ok(readPool().get("replica-1")!.counters.picks > 0, "replica-1 served reads");
    assert.ok(readPool().get("replica-2")!.counters.picks > 0, "replica-2 served reads");
    assert.equal(readPool().get("primary")!.counters.picks, picksBefore, "no read on the primary");
  });

  it("a replica over max_lag leaves the read pool, and returns once it catches up", async (t) => {
    await primary.sql(
      "CREATE TABLE IF NOT EXISTS sbtest.lag_probe (id INT AUTO_INCREMENT PRIMARY KEY)",
    );
    // MASTER_DELAY holds every event back: the lag grows by a second a second while
    // writes keep coming, with both replication threads running.
    await replica2.sql("STOP SLAVE; CHANGE MASTER TO MASTER_DELAY=60; START SLAVE;");
    let crossedAt: number | undefined;
    let removedAt: number | undefined;
    const deadline = Date.now() + 20_000;
    while (removedAt === undefined && Date.now() < deadline) {
      await primary.sql("INSERT INTO sbtest.lag_probe VALUES ()");
      const lag = Number((await replicaField(replica2, "Seconds_Behind_Master")) || 0);
      const now = performance.now();
      if (crossedAt === undefined && lag > MAX_LAG_SECONDS) crossedAt = now;
      if (!readPool().get("replica-2")!.available) removedAt = now;
      await new Promise((resolve) => setTimeout(resolve, 50));
    }
    assert.ok(removedAt !== undefined, "the lagging replica never left the read pool");
    assert.ok(crossedAt !== undefined, "the lag was never seen over max_lag");
    t.diagnostic(
      `replica over max_lag → out of the read pool: ${Math.round(removedAt - crossedAt)} ms`,
    );
    assert.deepEqual(available(readPool()), ["replica-1"]);
    const read = await throughPort(portOf("read"), "SELECT @@server_id");
    assert.equal(read.stdout.trim(), "2", "reads go to the replica still in step");

    await replica2.sql("STOP SLAVE; CHANGE MASTER TO MASTER_DELAY=0; START SLAVE;");
    await waitFor("the expected state", () => readPool().get("replica-2")!.available, 15_000);
  });

  it("a replica whose replication is stopped leaves the read pool", async () => {
    await replica1.sql("STOP SLAVE");
    await waitFor("the expected state", () => !readPool().get("replica-1")!.available, 5_000);
    const view = runtime.healthChecks("db-read").find((b) => b.id === "replica-1");
    assert.match(view?.lastDetail ?? "", /replication stopped/);
    await replica1.sql("START SLAVE");
    await waitFor("the expected state", () => readPool().get("replica-1")!.available, 5_000);
  });

  it("with no primary the write port refuses and says why; a promotion moves it with no reload", async (t) => {
    const reloads = runtime.reloads;
    await primary.daemon.stop();
    await waitFor("the expected state", () => available(writePool()).length === 0, 5_000);
    const refused = await throughPort(portOf("write"), "SELECT 1");
    assert.notEqual(refused.code, 0, "a write connection must not reach a replica");
    await waitFor(
      "the expected state",
      () => logLines.some((line) => line.includes("no primary in service")),
      5_000,
    );

    // The operator promotes replica-1 and points replica-2 at it.
    await replica1.sql("STOP SLAVE; RESET SLAVE ALL; SET GLOBAL read_only=0;");
    const promotedAt = performance.now();
    await waitFor("the expected state", () => writePool().get("replica-1")!.available, 5_000);
    t.diagnostic(
      `promotion → write port follows: ${Math.round(performance.now() - promotedAt)} ms`,
    );
    const written = await throughPort(
      portOf("write"),
      "INSERT INTO lag_probe VALUES (); SELECT @@server_id",
    );
    assert.equal(written.code, 0, written.stderr);
    assert.equal(written.stdout.trim(), "2", "writes reach the promoted server");
    assert.equal(runtime.reloads, reloads, "no reload was needed");
    assert.ok(logLines.some((line) => line.includes("backend role changed")));

    // Until replica-2 follows the new primary, the read pool falls back to the primary.
    await waitFor("the expected state", () => available(readPool()).join() === "replica-1", 5_000);
    const fallback = await throughPort(portOf("read"), "SELECT @@server_id");
    assert.equal(fallback.stdout.trim(), "2", "reads fall back to the primary");
    await follow(replica2, replica1);
    await waitFor("the expected state", () => available(readPool()).join() === "replica-2", 10_000);
  });
});
