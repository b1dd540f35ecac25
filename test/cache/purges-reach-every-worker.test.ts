/**
 * With `workers: N` each worker has its own zones: a purge in the primary goes to every
 * worker over the cluster's IPC channel, and the counts come back summed. Real worker
 * processes (node:cluster), each with a zone holding a tagged response.
 */
import assert from "node:assert/strict";
import cluster, { type Worker } from "node:cluster";
import { join } from "node:path";
import { after, before, test } from "node:test";
import { hasCacheWorkers, purgeInWorkers } from "../../src/runtime/cache-purge-ipc.js";

const workers: Worker[] = [];

/** Asks a worker how many responses its zone holds. */
function entriesOf(worker: Worker): Promise<number> {
  return new Promise((resolve) => {
    const onMessage = (message: { type?: string; entries?: number }) => {
      if (message?.type !== "test:entries") return;
      worker.off("message", onMessage);
      resolve(message.entries ?? -1);
    };
    worker.on("message", onMessage);
    worker.send({ type: "test:entries" });
  });
}

before(async () => {
  cluster.setupPrimary({ exec: join(import.meta.dirname, "purge-worker.js"), silent: false });
  for (let i = 0; i < 2; i++) {
    const worker = cluster.fork();
    workers.push(worker);
    await new Promise<void>((resolve, reject) => {
      worker.once("exit", (code) => reject(new Error(`worker exited with ${code}`)));
      worker.on("message", (message: { type?: string }) => {
        if (message?.type === "test:ready") resolve();
      });
    });
  }
});

after(async () => {
  await Promise.all(
    workers.map(
      (worker) =>
        new Promise<void>((resolve) => {
          if (worker.isDead()) return resolve();
          worker.removeAllListeners("exit");
          worker.once("exit", () => resolve());
          worker.kill();
        }),
    ),
  );
});

test("a purge by tag in the primary removes the tagged response in every worker", async () => {
  assert.equal(hasCacheWorkers(), true);
  assert.deepEqual(await purgeInWorkers({ tag: "product-7" }), { z: 2 });
  assert.deepEqual(await Promise.all(workers.map(entriesOf)), [1, 1]);
  assert.deepEqual(await purgeInWorkers({ tag: "product-7" }), { z: 0 }, "nothing left to purge");
});

test("a purge of everything empties every worker's zone; another zone's name purges nothing", async () => {
  assert.deepEqual(await purgeInWorkers({ all: true, zone: "other" }), {});
  assert.deepEqual(await purgeInWorkers({ all: true }), { z: 2 });
  assert.deepEqual(await Promise.all(workers.map(entriesOf)), [0, 0]);
});
