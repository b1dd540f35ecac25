/**
 * `workers: 2` with LVS persistence (`persistence: 1m`) over two backends: once a client is
 * bound, every later connection of it goes to the same backend, whichever worker the cluster
 * deals it to. Without shared bindings each worker's round robin binds the client on its own,
 * and the two workers disagree.
 */
import assert from "node:assert/strict";
import { writeFileSync } from "node:fs";
import { connect } from "node:net";
import { join } from "node:path";
import { after, before, describe, it } from "node:test";
import { type BallastProcess, startBallast } from "../support/ballast-start.js";
import { runCleanups } from "../support/cleanups.js";
import { loopbackTcpServer } from "../support/loopback-tcp-server.js";
import { freePort } from "../support/ports.js";
import { tempDir } from "../support/temp-dir.js";
import { waitFor } from "../support/wait.js";

const TOKEN = "workers-share-persistence-token";

/** A TCP backend that answers every connection with its name, then closes it. */
const namedServer = (name: string) => loopbackTcpServer((socket) => socket.end(`${name}\n`));

/** The name of the backend one new connection from `localAddress` reaches. */
function backendOf(port: number, localAddress: string): Promise<string> {
  return new Promise((resolve, reject) => {
    const socket = connect({ host: "127.0.0.1", port, localAddress });
    socket.setTimeout(10_000, () => socket.destroy(new Error("timed out")));
    let text = "";
    socket.on("error", reject);
    socket.on("data", (chunk) => {
      text += String(chunk);
    });
    socket.on("close", () => resolve(text.trim()));
  });
}

interface Binding {
  client: string;
  backend: string;
  worker: number;
  learned?: boolean;
}

describe("workers: 2 share persistence bindings", { timeout: 120_000 }, () => {
  const cleanups: (() => Promise<void> | void)[] = [];
  const dir = tempDir("workers-share-persistence");
  cleanups.push(dir.cleanup);
  let ballast: BallastProcess;
  let port: number;
  let adminUrl: string;

  before(async () => {
    const one = await namedServer("one");
    const two = await namedServer("two");
    cleanups.push(one.close, two.close);
    port = await freePort();
    adminUrl = `http://127.0.0.1:${await freePort()}`;
    const configPath = join(dir.path, "ballast.yaml");
    writeFileSync(
      configPath,
      `
workers: 2
log: { level: info }
admin: { bind: "127.0.0.1:${new URL(adminUrl).port}", token: "${TOKEN}" }
listeners:
  - { name: db, protocol: tcp, bind: "127.0.0.1:${port}", pool: db }
pools:
  db:
    algorithm: rr
    persistence: 1m
    backends:
      - { name: one, address: "127.0.0.1:${one.port}" }
      - { name: two, address: "127.0.0.1:${two.port}" }
`,
    );
    ballast = startBallast(configPath);
    cleanups.push(() => ballast.kill());
    await waitFor("both workers listening", () => ballast.count("listening") === 2, 20_000, 50);
  });

  after(() => runCleanups(cleanups));

  it("sends every connection of a bound client to its backend, through either worker", async () => {
    // Other clients first, so the workers' round robins stand at different backends.
    for (const other of ["127.0.0.21", "127.0.0.22", "127.0.0.23"]) {
      await backendOf(port, other);
    }
    const client = "127.0.0.30";
    const first = await backendOf(port, client);
    assert.ok(first === "one" || first === "two", `a backend answered: ${first}`);
    let rows: Binding[] = [];
    await waitFor("the binding and the other worker's copy", async () => {
      const response = await fetch(`${adminUrl}/api/listeners/db/persistence`, {
        headers: { authorization: `Bearer ${TOKEN}` },
      });
      rows = ((await response.json()) as { rows: Binding[] }).rows.filter(
        (row) => row.client === client,
      );
      return rows.length === 2;
    });
    assert.equal(new Set(rows.map((row) => row.worker)).size, 2, JSON.stringify(rows));
    assert.deepEqual(
      rows.map((row) => row.backend),
      [first, first],
    );
    // New connections are dealt to the workers in turn: both must keep the binding.
    const reached: string[] = [];
    for (let i = 0; i < 12; i++) reached.push(await backendOf(port, client));
    assert.deepEqual(reached, Array(12).fill(first));
  });
});
