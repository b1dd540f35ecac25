/**
 * Client-side balancing with real processes: a registry (`ballast start`), instance
 * processes that register and heartbeat, and a client calling `fetch` through the
 * RegistryDispatcher. Instances are killed, heartbeats paused and the registry stopped and
 * started again: no idempotent call fails while an instance is up, and the client serves
 * from its snapshot (and a second client from its snapshot file) while the registry is down.
 */
import assert from "node:assert/strict";
import { type ChildProcess, spawn } from "node:child_process";
import { once } from "node:events";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { createServer } from "node:net";
import { tmpdir } from "node:os";
import { dirname, join, resolve } from "node:path";
import { test } from "node:test";
import { fileURLToPath } from "node:url";
import { fetch } from "undici";
import { RegistryDispatcher } from "../../src/registry/client/index.js";

const here = dirname(fileURLToPath(import.meta.url));
const CLI = resolve(here, "../../src/cli/main.js");
const INSTANCE = resolve(here, "fixtures/instance-process.js");
const TOKEN = "registry-test-token";
const TTL_MS = 1500;

async function freePort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
  const { port } = server.address() as { port: number };
  await new Promise<void>((r) => server.close(() => r()));
  return port;
}

/** Waits until `condition` holds, or fails after `timeoutMs`. */
async function until(
  what: string,
  condition: () => boolean | Promise<boolean>,
  timeoutMs = 10_000,
): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await condition())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

async function startRegistry(dir: string, adminPort: number): Promise<ChildProcess> {
  const file = join(dir, "registry.yaml");
  writeFileSync(
    file,
    [
      "listeners:",
      "  - { name: web, protocol: http, bind: '127.0.0.1:0', default_pool: none, access_log: false }",
      "pools:",
      "  none: { backends: [] }",
      `admin: { bind: '127.0.0.1:${adminPort}', token: '${TOKEN}' }`,
      // Two of three instances go within the window here, which self-preservation would
      // rightly take for a partition and keep; this test is about clients, so it is off.
      "registry: { min_ttl: 100, ping_interval: 1s, self_preservation: false }",
      "log: { level: warn }",
      "",
    ].join("\n"),
  );
  const child = spawn(process.execPath, [CLI, "start", "--config", file], {
    stdio: ["ignore", "ignore", "inherit"],
  });
  await until("the registry to answer", async () => {
    try {
      const r = await globalThis.fetch(`http://127.0.0.1:${adminPort}/api/registry/services`, {
        headers: { authorization: `Bearer ${TOKEN}` },
      });
      return r.status === 200;
    } catch {
      return false;
    }
  });
  return child;
}

async function startInstance(registry: string, name: string): Promise<ChildProcess> {
  const child = spawn(process.execPath, [INSTANCE, registry, TOKEN, "api", name, String(TTL_MS)], {
    stdio: ["pipe", "pipe", "inherit"],
  });
  let out = "";
  child.stdout!.setEncoding("utf8");
  await until(`${name} to register`, () => {
    out += child.stdout!.read() ?? "";
    return out.includes("ready");
  });
  return child;
}

async function stop(child: ChildProcess, signal: NodeJS.Signals = "SIGTERM"): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return;
  child.kill(signal);
  await once(child, "exit");
}

test("clients lose no idempotent call through kills, paused heartbeats and a registry outage", {
  timeout: 90_000,
}, async (t) => {
  const dir = mkdtempSync(join(tmpdir(), "ballast-registry-"));
  const adminPort = await freePort();
  const registryUrl = `http://127.0.0.1:${adminPort}`;
  const children: ChildProcess[] = [];
  t.after(async () => {
    await Promise.all(children.map((c) => stop(c, "SIGKILL")));
    rmSync(dir, { recursive: true, force: true });
  });

  let registry = await startRegistry(dir, adminPort);
  children.push(registry);
  const instances = new Map<string, ChildProcess>();
  for (const name of ["i1", "i2", "i3"]) {
    const child = await startInstance(registryUrl, name);
    instances.set(name, child);
    children.push(child);
  }
  const snapshotFile = join(dir, "api.snapshot.json");
  const dispatcher = new RegistryDispatcher({
    registry: registryUrl,
    token: TOKEN,
    services: ["api"],
    algorithm: "ewma",
    snapshotFile,
    idleTimeoutMs: 3000,
  });
  t.after(() => dispatcher.close());
  const pool = dispatcher.balancer("api")!.pool;
  await until("the client to see three instances", () => pool.size === 3);

  // Load: four callers in a loop, counting answers by instance and failures.
  const served = new Map<string, number>();
  const failures: string[] = [];
  let running = true;
  t.after(() => {
    running = false;
  });
  const callers = Array.from({ length: 4 }, async () => {
    while (running) {
      try {
        const response = await fetch("http://api/hello", { dispatcher });
        const text = await response.text();
        if (response.status !== 200) failures.push(`status ${response.status}`);
        else served.set(text, (served.get(text) ?? 0) + 1);
      } catch (error) {
        failures.push(String((error as Error).cause ?? error));
        // A failure can come back at once: let timers run between calls.
        await new Promise((r) => setImmediate(r));
      }
    }
  });
  const total = () => [...served.values()].reduce((a, b) => a + b, 0);
  const progress = async (what: string, calls = 50) => {
    const target = total() + calls;
    await until(what, () => total() >= target, 20_000);
  };
  await progress("calls to flow");
  assert.deepEqual([...served.keys()].sort(), ["i1", "i2", "i3"], "every instance serves");

  // Kill one instance outright: calls to it are retried elsewhere; the registry expires it.
  await stop(instances.get("i1")!, "SIGKILL");
  await until("i1 to leave the client's pool", () => pool.get("i1") === undefined, 10_000);
  await progress("calls after the kill");

  // Pause the heartbeat of another: it leaves the registry and the client, still serving.
  instances.get("i2")!.stdin!.write("pause\n");
  await until("i2 to leave the client's pool", () => pool.get("i2") === undefined, 10_000);
  const i3Before = served.get("i3") ?? 0;
  await progress("calls with one instance listed");
  assert.ok((served.get("i3") ?? 0) > i3Before);

  // Stop the registry: the client keeps its list and keeps serving.
  instances.get("i2")!.stdin!.write("resume\n");
  await stop(registry);
  await until("the client to notice", () => !dispatcher.balancer("api")!.connected, 5000);
  await progress("calls while the registry is down");
  assert.ok(pool.size >= 1, "the snapshot outlives the registry");

  // A second client that starts now, with no registry, serves from the snapshot file.
  const cold = new RegistryDispatcher({
    registry: registryUrl,
    token: TOKEN,
    services: ["api"],
    snapshotFile,
  });
  t.after(() => cold.close());
  const coldAnswer = await fetch("http://api/cold", { dispatcher: cold });
  assert.equal(coldAnswer.status, 200);
  assert.equal(await coldAnswer.text(), "i3");

  // The registry comes back empty; the instances register again and the client follows.
  registry = await startRegistry(dir, adminPort);
  children.push(registry);
  await until(
    "i2 and i3 to be listed again",
    () => pool.get("i2") !== undefined && pool.get("i3") !== undefined,
    15_000,
  );
  await progress("calls after the registry's return");

  running = false;
  await Promise.all(callers);
  assert.deepEqual(failures, [], "no idempotent call failed while an instance was up");
});
