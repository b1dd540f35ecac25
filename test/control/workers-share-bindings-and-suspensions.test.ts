/**
 * `workers: 2` share what each worker learns from its own traffic:
 *   - LVS persistence (`persistence: 1m`) over two backends: once a client is bound, every
 *     later connection of it goes to the same backend, whichever worker the cluster deals it
 *     to. Without shared bindings each worker's round robin binds the client on its own.
 *   - passive detection: a backend one worker found dead is suspended in the other too, so
 *     the balancer as a whole tries it once per `fail_timeout` (nginx with `zone`), not once
 *     per worker.
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
  let passivePort: number;
  let adminUrl: string;

  before(async () => {
    const one = await namedServer("one");
    const two = await namedServer("two");
    cleanups.push(one.close, two.close);
    port = await freePort();
    passivePort = await freePort();
    // Nothing listens there: every connection to it is refused.
    const deadPort = await freePort();
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
  - { name: flaky, protocol: tcp, bind: "127.0.0.1:${passivePort}", pool: flaky }
pools:
  db:
    algorithm: rr
    persistence: 1m
    backends:
      - { name: one, address: "127.0.0.1:${one.port}" }
      - { name: two, address: "127.0.0.1:${two.port}" }
  flaky:
    algorithm: rr
    passive: { max_fails: 1, fail_timeout: 60s }
    backends:
      - { name: one, address: "127.0.0.1:${one.port}" }
      - { name: dead, address: "127.0.0.1:${deadPort}" }
`,
    );
    ballast = startBallast(configPath);
    cleanups.push(() => ballast.kill());
    await waitFor("both workers listening", () => ballast.count("listening") === 4, 20_000, 50);
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

  it("suspends a backend in both workers when one worker's passive detection finds it dead", async () => {
    const refusedConnects = async () => {
      const response = await fetch(`${adminUrl}/api/pools/flaky`, {
        headers: { authorization: `Bearer ${TOKEN}` },
      });
      const view = (await response.json()) as {
        backends: { id: string; errors: { connect: number } }[];
      };
      return view.backends.find((b) => b.id === "dead")?.errors.connect ?? -1;
    };
    // Until one worker has met the dead backend (a failed connect costs the client nothing:
    // its connection goes on to the other backend).
    const client = "127.0.0.40";
    for (let i = 0; i < 10 && (await refusedConnects()) < 1; i++) {
      assert.equal(await backendOf(passivePort, client), "one");
      await new Promise((resolve) => setTimeout(resolve, 300));
    }
    assert.equal(await refusedConnects(), 1, "one worker met the dead backend");
    // The suspension reaches the other worker through the primary at once; allow for a slow
    // machine, then deal a dozen connections to both workers.
    await new Promise((resolve) => setTimeout(resolve, 500));
    for (let i = 0; i < 12; i++) assert.equal(await backendOf(passivePort, client), "one");
    await new Promise((resolve) => setTimeout(resolve, 500));
    assert.equal(await refusedConnects(), 1, "the other worker never tried the dead backend");
  });
});
