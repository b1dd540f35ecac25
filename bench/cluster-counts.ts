/**
 * What sharing connection counts across workers costs, for the choice docs/operations.md
 * explains: per request, a plain field (what ballast does; other workers' counts arrive by
 * message) against Atomics on a SharedArrayBuffer (what worker_threads would allow), alone
 * and with a second thread hammering the same counters; per exchange, one report of a pool
 * over node:cluster's IPC channel and its answer, as `workers: N` sends every 100 ms.
 *
 * Usage: npm run build && node dist/bench/cluster-counts.js [backends, default 100]
 */
import cluster from "node:cluster";
import { once } from "node:events";
import { isMainThread, Worker, workerData } from "node:worker_threads";

const BACKENDS = Number(process.argv[2] ?? 100);
const OPS = 5_000_000;
const ROUND_TRIPS = 500;

/** ns per take+release pair of a plain counter (the pool's `active++`/`active--`). */
function plainCounts(): number {
  const counts = new Array<number>(BACKENDS).fill(0);
  const start = process.hrtime.bigint();
  for (let i = 0; i < OPS; i++) {
    const b = i % BACKENDS;
    counts[b]++;
    counts[b]--;
  }
  return Number(process.hrtime.bigint() - start) / OPS;
}

/** ns per take+release pair with Atomics on shared memory. */
function atomicCounts(shared: Int32Array): number {
  const start = process.hrtime.bigint();
  for (let i = 0; i < OPS; i++) {
    const b = i % BACKENDS;
    Atomics.add(shared, b, 1);
    Atomics.sub(shared, b, 1);
  }
  return Number(process.hrtime.bigint() - start) / OPS;
}

/** CPU microseconds (primary + worker) of one report from a worker and its answer, over IPC. */
async function ipcRoundTrip(): Promise<number> {
  const worker = cluster.fork({ CLUSTER_COUNTS_WORKER: "1" });
  const report = Object.fromEntries(
    Array.from({ length: BACKENDS }, (_, i) => [
      `backend-${i}`,
      [3, 1, 9, 9, 0, 0, 0, 1e6, 1e6, 2],
    ]),
  );
  // Messages sent before the worker listens are lost: it says when it does.
  await new Promise((resolve) => worker.once("message", resolve));
  const before = process.cpuUsage();
  for (let i = 0; i < ROUND_TRIPS; i++) {
    await new Promise<void>((resolve) => {
      worker.once("message", () => resolve());
      worker.send({ type: "ballast:stats", pools: { web: report } });
    });
  }
  const primary = process.cpuUsage(before);
  const workerCpu = await new Promise<number>((resolve) => {
    worker.once("message", (message: { cpu: number }) => resolve(message.cpu));
    worker.send({ type: "done" });
  });
  worker.kill();
  return (primary.user + primary.system + workerCpu) / ROUND_TRIPS;
}

if (cluster.isWorker && process.env.CLUSTER_COUNTS_WORKER === "1") {
  const start = process.cpuUsage();
  process.on(
    "message",
    (message: { type: string; pools: Record<string, Record<string, number[]>> }) => {
      if (message.type === "done") {
        const used = process.cpuUsage(start);
        process.send?.({ cpu: used.user + used.system });
        return;
      }
      const counts: Record<string, [number, number]> = {};
      for (const [id, numbers] of Object.entries(message.pools.web)) {
        counts[id] = [numbers[0], numbers[1]];
      }
      process.send?.({ type: "ballast:counts", pools: { web: counts } });
    },
  );
  process.send?.({ type: "ready" });
} else if (!isMainThread) {
  const shared = new Int32Array(workerData as SharedArrayBuffer);
  atomicCounts(shared);
} else {
  console.log(`${BACKENDS} backends, ${OPS} take+release pairs, ${ROUND_TRIPS} IPC round trips`);
  console.log(`plain field:                 ${plainCounts().toFixed(2)} ns per pair`);
  const shared = new Int32Array(new SharedArrayBuffer(4 * BACKENDS));
  console.log(`Atomics, one thread:         ${atomicCounts(shared).toFixed(2)} ns per pair`);
  const rival = new Worker(new URL(import.meta.url), { workerData: shared.buffer });
  await once(rival, "online");
  console.log(`Atomics, two threads racing: ${atomicCounts(shared).toFixed(2)} ns per pair`);
  await rival.terminate();
  const ipc = await ipcRoundTrip();
  console.log(
    `IPC report + answer:         ${ipc.toFixed(0)} CPU-us per exchange (both sides); ` +
      `at 10 per second per worker, ${((ipc * 10) / 1e4).toFixed(3)}% of a core per worker`,
  );
}
