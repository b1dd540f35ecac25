/**
 * Cache purges across `workers: N`: each worker has its own cache zones, so a purge through
 * the admin API (in the primary) is sent to every worker over node:cluster's IPC channel and
 * the counts come back. Two message types of their own, apart from the rest of the cluster
 * protocol, so that they do not depend on how the workers share their other state:
 *
 *   primary -> worker  { type: "ballast:cache-purge", seq, purge }
 *   worker -> primary  { type: "ballast:cache-purged", seq, purged }
 */
import cluster, { type Worker } from "node:cluster";
import { applyPurge, type CachePurge, isCachePurge } from "../cache/purge.js";
import type { CacheZone } from "../cache/zone.js";
import { answerCacheStats } from "./cache-figures.js";

const PURGE = "ballast:cache-purge";
const PURGED = "ballast:cache-purged";

/** A worker that does not answer within this is counted as having purged nothing (ms). */
const ANSWER_WAIT_MS = 5000;

let sequence = 0;

/**
 * In a worker: applies the primary's purges to `zones` and answers, and answers its
 * requests for the zones' figures (cache-figures.ts); returns the stop.
 */
export function answerCachePurges(zones: ReadonlyMap<string, CacheZone>): () => void {
  const onMessage = (message: unknown) => {
    if (typeof message !== "object" || message === null) return;
    const m = message as { type?: unknown; seq?: unknown; purge?: unknown };
    if (answerCacheStats(zones, m)) return;
    if (m.type !== PURGE || typeof m.seq !== "number" || !isCachePurge(m.purge)) return;
    const purged = applyPurge(zones, m.purge);
    if (process.connected) process.send?.({ type: PURGED, seq: m.seq, purged });
  };
  process.on("message", onMessage);
  return () => process.off("message", onMessage);
}

/** True in a primary that has workers to tell. */
export function hasCacheWorkers(): boolean {
  return cluster.isPrimary && Object.keys(cluster.workers ?? {}).length > 0;
}

/**
 * In the primary: sends a purge to every worker and resolves with the responses removed per
 * zone, summed over the workers that answered within ANSWER_WAIT_MS.
 */
export function purgeInWorkers(purge: CachePurge): Promise<Record<string, number>> {
  const workers = Object.values(cluster.workers ?? {}).filter(
    (worker): worker is Worker => worker?.isConnected() === true,
  );
  const seq = ++sequence;
  const total: Record<string, number> = {};
  if (workers.length === 0) return Promise.resolve(total);
  return new Promise((resolve) => {
    const waiting = new Set(workers);
    const finish = () => {
      clearTimeout(timer);
      cluster.off("message", onMessage);
      resolve(total);
    };
    const onMessage = (worker: Worker, message: unknown) => {
      const m = message as { type?: unknown; seq?: unknown; purged?: unknown };
      if (m?.type !== PURGED || m.seq !== seq || !waiting.delete(worker)) return;
      for (const [zone, count] of Object.entries(m.purged as Record<string, unknown>)) {
        if (typeof count === "number") total[zone] = (total[zone] ?? 0) + count;
      }
      if (waiting.size === 0) finish();
    };
    const timer = setTimeout(finish, ANSWER_WAIT_MS);
    cluster.on("message", onMessage);
    for (const worker of workers) worker.send({ type: PURGE, seq, purge });
  });
}
