/**
 * Client-side balancing with real processes: a registry (`ballast start`), instance
 * processes that register and heartbeat, and a client calling `fetch` through the
 * RegistryDispatcher. Instances are killed, heartbeats paused and the registry stopped and
 * started again: no idempotent call fails while an instance is up, and the client serves
 * from its snapshot (and a second client from its snapshot file) while the registry is down.
 */
import assert from "node:assert/strict";
import type { ChildProcess } from "node:child_process";
import { join } from "node:path";
import { test } from "node:test";
import { fetch } from "undici";
import { RegistryDispatcher } from "../../src/registry/client/index.js";
import { freePort } from "../support/ports.js";
import { tempDir } from "../support/temp-dir.js";
import { waitFor } from "../support/wait.js";
import {
  startInstance as startInstanceProcess,
  startRegistry as startRegistryProcess,
  stop,
} from "./fixtures/registry-processes.js";

const TOKEN = "registry-test-token";
const TTL_MS = 1500;

/** Waits until `condition` holds, or fails after `timeoutMs`. */
function until(
  what: string,
  condition: () => boolean | Promise<boolean>,
  timeoutMs = 10_000,
): Promise<void> {
  return waitFor(what, condition, timeoutMs, 50);
}

function startRegistry(dir: string, adminPort: number): Promise<ChildProcess> {
  return startRegistryProcess(dir, adminPort, TOKEN);
}

function startInstance(registry: string, name: string): Promise<ChildProcess> {
  return startInstanceProcess("instance-process.js", {
    registry,
    token: TOKEN,
    service: "api",
    name,
    ttlMs: TTL_MS,
  });
}

test("clients lose no idempotent call through kills, paused heartbeats and a registry outage", {
  timeout: 90_000,
}, async (t) => {
  const temp = tempDir("ballast-registry-");
  const dir = temp.path;
  const adminPort = await freePort();
  const registryUrl = `http://127.0.0.1:${adminPort}`;
  const children: ChildProcess[] = [];
  t.after(async () => {
    await Promise.all(children.map((c) => stop(c, "SIGKILL")));
    temp.cleanup();
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
