/** Two PostgreSQL clusters behind a tcp listener, driven by pgbench. */
import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import type { TcpListener } from "../../src/tcp/listener.js";
import { run } from "../support/daemon.js";
import { requireProgram } from "../support/programs.js";
import { psql, type RealServer, startPostgres } from "../support/servers.js";
import { type Fronted, frontTcp } from "./helpers.js";

let pgA: RealServer;
let pgB: RealServer;
let front: Fronted<TcpListener>;

const commits = async (port: number) =>
  Number(await psql(port, "select xact_commit from pg_stat_database where datname = 'postgres'"));

before(async () => {
  [pgA, pgB] = await Promise.all([startPostgres(), startPostgres()]);
  for (const server of [pgA, pgB]) {
    const init = await run(
      requireProgram("pgbench"),
      [
        "-h",
        "127.0.0.1",
        "-p",
        String(server.port),
        "-U",
        "postgres",
        "-i",
        "-s",
        "1",
        "-q",
        "postgres",
      ],
      120_000,
    );
    assert.equal(init.code, 0, init.stderr);
  }
  front = await frontTcp(
    [
      { id: "a", host: "127.0.0.1", port: pgA.port },
      { id: "b", host: "127.0.0.1", port: pgB.port },
    ],
    {},
    { algorithm: "rr" },
  );
});

after(async () => {
  await front?.close();
  await Promise.all([pgA?.stop(), pgB?.stop()]);
});

describe("PostgreSQL behind a tcp listener", () => {
  it("runs pgbench through the listener with every transaction committed, on both clusters", async () => {
    const before = [await commits(pgA.port), await commits(pgB.port)];
    const args = ["-h", "127.0.0.1", "-p", String(front.port), "-U", "postgres", "-n"];
    // -c 4 over rr: two connections per cluster; -t bounds the run.
    const result = await run(
      requireProgram("pgbench"),
      [...args, "-c", "4", "-j", "2", "-t", "100", "postgres"],
      120_000,
    );
    assert.equal(result.code, 0, result.stderr);
    assert.match(result.stdout, /number of transactions actually processed: 400\/400/);
    assert.match(result.stdout, /number of failed transactions: 0/);
    // -C: a new connection per transaction, so every transaction is a new pick.
    const perConnection = await run(
      requireProgram("pgbench"),
      [...args, "-C", "-c", "2", "-t", "50", "postgres"],
      120_000,
    );
    assert.equal(perConnection.code, 0, perConnection.stderr);
    assert.match(perConnection.stdout, /actually processed: 100\/100/);
    const a = (await commits(pgA.port)) - before[0];
    const b = (await commits(pgB.port)) - before[1];
    assert.ok(a >= 200 && b >= 200, `both clusters committed transactions: a=${a} b=${b}`);
    assert.equal(front.listener.stats().connectFailures, 0);
  });
});
