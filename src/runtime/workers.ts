/**
 * `workers: N`: N processes serve the same listeners through node:cluster. The primary
 * forks the workers, restarts one that dies, and on SIGTERM/SIGINT asks each to stop
 * gracefully; the workers build the runtime and listen (cluster hands their listening
 * sockets to the primary, which deals connections round-robin on Linux).
 *
 * The primary owns the control state and keeps the workers in step (cluster-primary.ts and
 * cluster-worker.ts): one admin API, health checks run once, connection counts shared.
 * Node 20 has no `reusePort`, which would let the kernel spread connections instead of the
 * primary.
 */
import cluster, { type Worker } from "node:cluster";
import type { Logger } from "../log.js";

/** What the caller of `startWorkers` does next. */
export type WorkerRole =
  | { role: "worker"; id: number }
  | {
      role: "primary";
      /**
       * Resolves when every worker has exited after a stop: true for a requested stop, false
       * when a worker died before it ever listened (a config that cannot start).
       */
      done: Promise<boolean>;
      stop(): void;
    };

/** Restarts of a crashing worker are spaced by at least this. */
const RESTART_DELAY_MS = 1000;

/**
 * In the primary: forks `count` workers and supervises them. In a worker: returns at once
 * with role "worker", and the caller starts its listeners. With count 1 nothing is forked
 * and the caller is the only worker. `environment` is added to each forked worker's.
 */
export function startWorkers(
  count: number,
  logger: Logger,
  environment: () => Record<string, string> = () => ({}),
): WorkerRole {
  if (count <= 1) return { role: "worker", id: 0 };
  if (cluster.isWorker) return { role: "worker", id: cluster.worker?.id ?? 0 };
  let stopping = false;
  let failed = false;
  let resolveDone: (ok: boolean) => void = () => {};
  const done = new Promise<boolean>((resolve) => {
    resolveDone = resolve;
  });
  const live = new Set<Worker>();
  /** Restarts waiting for their delay; they keep the primary alive when no worker is left. */
  const restarts = new Set<NodeJS.Timeout>();
  const fork = (): void => {
    // A worker forked after a reload starts from the running config, not the start file.
    const worker = cluster.fork(environment());
    let listened = false;
    live.add(worker);
    worker.once("listening", () => {
      listened = true;
    });
    worker.once("exit", (code, signal) => {
      live.delete(worker);
      if (stopping) {
        if (live.size === 0) resolveDone(!failed);
        return;
      }
      if (!listened) {
        // Restarting a worker that never got as far as listening (a taken port, a bad
        // certificate) would only repeat the failure forever: stop the others and report it.
        logger.error({ pid: worker.process.pid, code, signal }, "worker failed to start; stopping");
        failed = true;
        stop();
        return;
      }
      logger.error({ pid: worker.process.pid, code, signal }, "worker died; restarting");
      // Not unref'd: when every worker died at once, this timer is all that keeps the
      // primary from exiting before it can fork again.
      const restart = setTimeout(() => {
        restarts.delete(restart);
        if (!stopping) fork();
      }, RESTART_DELAY_MS);
      restarts.add(restart);
    });
  };
  for (let i = 0; i < count; i++) fork();
  const stop = (): void => {
    if (stopping) return;
    stopping = true;
    for (const restart of restarts) clearTimeout(restart);
    restarts.clear();
    if (live.size === 0) resolveDone(!failed);
    // Each worker gets SIGTERM and runs its own graceful stop.
    for (const worker of live) worker.process.kill("SIGTERM");
  };
  process.once("SIGTERM", stop);
  process.once("SIGINT", stop);
  logger.info({ workers: count }, "started workers");
  return { role: "primary", done, stop };
}
