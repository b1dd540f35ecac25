/**
 * HTTP load on the admin API (or on the peer) from a worker thread: the load generator gets
 * its own event loop, so the server's thread runs only the server. The worker's side is
 * load-worker.ts.
 */
import { Worker } from "node:worker_threads";

/** What a load worker is asked to do. */
export interface LoadJob {
  base: string;
  token: string;
  kind: "register" | "renew";
  /** Instances to register or renew in all. */
  total: number;
  /** Instances registered before (renewals cycle through them; batches register after them). */
  instances: number;
  /** Services the instances are spread over (instance i is in service `s{i % services}`). */
  services: number;
  concurrency: number;
  /** Instances per call: 1 for one call each, more for POST /api/registry/batch. */
  batch: number;
}

/** Instances per second of `job`, measured in a worker thread. */
export function httpRate(job: LoadJob): Promise<number> {
  const worker = new Worker(new URL("./load-worker.js", import.meta.url), { workerData: job });
  return new Promise((resolve, reject) => {
    worker.once("message", (value: number) => resolve(value));
    worker.once("error", reject);
    worker.once("exit", (code) => {
      if (code !== 0) reject(new Error(`load worker exited with ${code}`));
    });
  });
}
