/**
 * The postgres and redis checks against real replicated pairs: a PostgreSQL primary with a
 * streaming standby (pg_basebackup -R), and a Redis primary with a --replicaof replica. Each
 * check finds the roles, so a `role: primary` pool serves the primary only; a promotion
 * (pg_promote, REPLICAOF NO ONE) moves the pool with no reload.
 */
import assert from "node:assert/strict";
import { after, describe, it } from "node:test";
import type { HealthCheckConfig } from "../../src/config/schema/health.js";
import { createPostgresCheck, createRedisCheck, startPoolHealth } from "../../src/health/index.js";
import { silentLogger } from "../../src/log.js";
import { Pool } from "../../src/pool/pool.js";
import { healthConfig } from "../health/helpers.js";
import { run } from "../support/daemon.js";
import { requireProgram } from "../support/programs.js";
import { waitFor } from "../support/wait.js";
import { PG_CHECK, startPostgresPair, startRedisPair } from "./servers.js";

const cleanups: (() => Promise<void> | void)[] = [];
after(async () => {
  for (const cleanup of cleanups.reverse()) await cleanup();
});

const TIMING = { interval: 100, timeout: 2000, rise: 1, fall: 1, jitter: 0 };

/** A pool of `ports` asking for `role`, checked by `config`. */
function rolePool(ports: number[], role: "primary" | "replica", config: HealthCheckConfig): Pool {
  const backends = ports.map((port) => ({ host: "127.0.0.1", port }));
  const pool = new Pool(`${config.type}-${role}`, backends, { role });
  const health = startPoolHealth(pool, config, silentLogger);
  cleanups.push(() => {
    health.stop();
    pool.close();
  });
  return pool;
}

const serving = (pool: Pool) => pool.backends.filter((b) => b.available).map((b) => b.port);

describe("postgres check over a real primary and streaming standby", () => {
  it("finds the roles, fails a standby over max_lag, and follows pg_promote", async () => {
    const pair = await startPostgresPair();
    cleanups.push(pair.stop);
    const { primary, standby } = pair;
    const check = createPostgresCheck({ ...PG_CHECK, maxLagMs: 5000 });
    const target = (port: number) => ({ host: "127.0.0.1", port });
    const atPrimary = await check.check(target(primary.port), AbortSignal.timeout(5000));
    assert.deepEqual([atPrimary.ok, atPrimary.role], [true, "primary"], atPrimary.detail);
    const atStandby = await check.check(target(standby.port), AbortSignal.timeout(5000));
    assert.deepEqual([atStandby.ok, atStandby.role], [true, "replica"], atStandby.detail);
    const wrong = createPostgresCheck({ ...PG_CHECK, password: "wrong" });
    const refused = await wrong.check(target(primary.port), AbortSignal.timeout(5000));
    assert.equal(refused.ok, false);
    assert.match(refused.detail, /password authentication failed/);

    const config = healthConfig({ type: "postgres", ...PG_CHECK, max_lag: "1s", ...TIMING });
    const writes = rolePool([primary.port, standby.port], "primary", config);
    const reads = rolePool([primary.port, standby.port], "replica", config);
    await waitFor(
      "the expected state",
      () => serving(writes).length === 1 && serving(reads).length === 1,
      10_000,
    );
    assert.deepEqual(serving(writes), [primary.port]);
    assert.deepEqual(serving(reads), [standby.port]);

    // A standby that stops replaying while writes arrive falls behind and leaves.
    await pair.psql(primary, "CREATE TABLE lag_probe (id serial)");
    await waitFor(
      "the expected state",
      async () => (await pair.psql(standby, "SELECT to_regclass('lag_probe') IS NOT NULL")) === "t",
      10_000,
    );
    await pair.psql(standby, "SELECT pg_wal_replay_pause()");
    const deadline = Date.now() + 15_000;
    while (serving(reads).length > 0 && Date.now() < deadline) {
      await pair.psql(primary, "INSERT INTO lag_probe DEFAULT VALUES");
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
    assert.deepEqual(serving(reads), [], "the paused standby left the read pool");
    const lagging = await createPostgresCheck({ ...PG_CHECK, maxLagMs: 1000 }).check(
      target(standby.port),
      AbortSignal.timeout(5000),
    );
    assert.match(lagging.detail, /behind, over max_lag 1s/);
    await pair.psql(standby, "SELECT pg_wal_replay_resume()");
    await waitFor("the expected state", () => serving(reads).length === 1, 10_000);

    await primary.daemon.stop();
    await pair.psql(standby, "SELECT pg_promote()");
    await waitFor(
      "the expected state",
      () => serving(writes).join() === String(standby.port),
      10_000,
    );
  });
});

describe("redis check over a real primary and replica", () => {
  it("finds master and slave roles, and follows REPLICAOF NO ONE", async () => {
    const pair = await startRedisPair();
    cleanups.push(pair.stop);
    const { primary, replica } = pair;
    const check = createRedisCheck({});
    const atReplica = await check.check(
      { host: "127.0.0.1", port: replica.port },
      AbortSignal.timeout(2000),
    );
    assert.equal(atReplica.role, "replica", atReplica.detail);

    const config = healthConfig({ type: "redis", ...TIMING });
    const writes = rolePool([primary.port, replica.port], "primary", config);
    await waitFor("the expected state", () => serving(writes).length === 1, 10_000);
    assert.deepEqual(serving(writes), [primary.port]);

    await primary.daemon.stop();
    const cli = ["-h", "127.0.0.1", "-p", String(replica.port)];
    await run(requireProgram("redis-cli"), [...cli, "REPLICAOF", "NO", "ONE"]);
    await waitFor(
      "the expected state",
      () => serving(writes).join() === String(replica.port),
      10_000,
    );
  });

  it("a replica whose link to the primary is down fails", async () => {
    const pair = await startRedisPair();
    cleanups.push(pair.stop);
    const check = createRedisCheck({});
    const target = { host: "127.0.0.1", port: pair.replica.port };
    await waitFor(
      "the expected state",
      async () => (await check.check(target, AbortSignal.timeout(2000))).ok,
      10_000,
    );
    await pair.primary.daemon.stop();
    const result = await check.check(target, AbortSignal.timeout(2000));
    assert.deepEqual([result.ok, result.role], [false, "replica"]);
    assert.match(result.detail, /link to primary down/);
  });
});
