/**
 * The figures of the HTTP cache zones (counters, what the stores hold, each route's lookups)
 * of this process, and with `workers: N` summed over the workers: each worker has its own
 * zones and the primary none in use, so the admin API, the dashboard and the metrics ask
 * every worker over node:cluster's IPC channel, as purges do (cache-purge-ipc.ts):
 *
 *   primary -> worker  { type: "ballast:cache-stats", seq }
 *   worker -> primary  { type: "ballast:cache-figures", seq, zones }
 *
 * Counters of a worker that exited are kept, so totals never go back (Prometheus counters).
 */
import cluster, { type Worker } from "node:cluster";
import {
  type CacheCounters,
  type CacheZone,
  type RouteCounters,
  zeroCacheCounters,
} from "../cache/zone.js";

const STATS = "ballast:cache-stats";
const FIGURES = "ballast:cache-figures";

/** A worker that does not answer within this is left out of the sum (ms). */
const ANSWER_WAIT_MS = 2000;

/** One zone's figures. */
export interface ZoneFigures {
  counters: CacheCounters;
  bytes: number;
  entries: number;
  filling: number;
  diskBytes: number;
  diskEntries: number;
  /** Why the disk store cannot be used (in some process), when it cannot. */
  diskFailure?: string;
  /** Each route's lookups, by label ("listener/route"). */
  routes: Record<string, RouteCounters>;
}

/** The figures of `zones`, by zone name. */
export function zoneFigures(zones: ReadonlyMap<string, CacheZone>): Record<string, ZoneFigures> {
  const figures: Record<string, ZoneFigures> = {};
  for (const [name, zone] of zones) {
    const routes: Record<string, RouteCounters> = {};
    for (const [label, counters] of zone.routeCountersAll()) routes[label] = { ...counters };
    figures[name] = {
      counters: { ...zone.counters },
      ...zone.usage(),
      diskFailure: zone.diskFailure,
      routes,
    };
  }
  return figures;
}

/** In a worker: answers a stats request of the primary (true when `message` was one). */
export function answerCacheStats(
  zones: ReadonlyMap<string, CacheZone>,
  message: { type?: unknown; seq?: unknown },
): boolean {
  if (message.type !== STATS || typeof message.seq !== "number") return false;
  if (process.connected)
    process.send?.({ type: FIGURES, seq: message.seq, zones: zoneFigures(zones) });
  return true;
}

let sequence = 0;
/** Last answer of each worker, and the counters of workers that exited. */
const lastAnswers = new Map<number, Record<string, ZoneFigures>>();
const retired: Record<string, ZoneFigures> = {};
let watchingExits = false;

/**
 * The figures of `zones` (this process's) plus, in a primary with workers, every worker's
 * that answered within ANSWER_WAIT_MS and the counters of workers that exited.
 */
export async function clusterZoneFigures(
  zones: ReadonlyMap<string, CacheZone>,
): Promise<Record<string, ZoneFigures>> {
  const total = zoneFigures(zones);
  if (!cluster.isPrimary) return total;
  watchExits();
  const answers = await askWorkers();
  for (const figures of [...answers, retired]) addFigures(total, figures, true);
  return total;
}

function askWorkers(): Promise<Record<string, ZoneFigures>[]> {
  const workers = Object.values(cluster.workers ?? {}).filter(
    (worker): worker is Worker => worker?.isConnected() === true,
  );
  if (workers.length === 0) return Promise.resolve([]);
  const seq = ++sequence;
  const answers: Record<string, ZoneFigures>[] = [];
  return new Promise((resolve) => {
    const waiting = new Set(workers);
    const finish = () => {
      clearTimeout(timer);
      cluster.off("message", onMessage);
      resolve(answers);
    };
    const onMessage = (worker: Worker, message: unknown) => {
      const m = message as { type?: unknown; seq?: unknown; zones?: unknown };
      if (m?.type !== FIGURES || m.seq !== seq || !waiting.delete(worker)) return;
      if (typeof m.zones === "object" && m.zones !== null) {
        const zones = m.zones as Record<string, ZoneFigures>;
        answers.push(zones);
        lastAnswers.set(worker.id, zones);
      }
      if (waiting.size === 0) finish();
    };
    const timer = setTimeout(finish, ANSWER_WAIT_MS);
    cluster.on("message", onMessage);
    for (const worker of workers) {
      try {
        worker.send({ type: STATS, seq });
      } catch {
        waiting.delete(worker);
      }
    }
    if (waiting.size === 0) finish();
  });
}

/** A worker that exits leaves its last counters behind (not what its stores held). */
function watchExits(): void {
  if (watchingExits) return;
  watchingExits = true;
  cluster.on("exit", (worker: Worker) => {
    const last = lastAnswers.get(worker.id);
    lastAnswers.delete(worker.id);
    if (last !== undefined) addFigures(retired, last, false);
  });
}

/** Adds `from` into `into`; `withUsage` adds what the stores hold too. */
function addFigures(
  into: Record<string, ZoneFigures>,
  from: Record<string, ZoneFigures>,
  withUsage: boolean,
): void {
  for (const [name, figures] of Object.entries(from)) {
    let sum = into[name];
    if (sum === undefined) {
      sum = {
        counters: zeroCacheCounters(),
        bytes: 0,
        entries: 0,
        filling: 0,
        diskBytes: 0,
        diskEntries: 0,
        routes: {},
      };
      into[name] = sum;
    }
    addNumbers(sum.counters, figures.counters);
    if (withUsage) {
      sum.bytes += number(figures.bytes);
      sum.entries += number(figures.entries);
      sum.filling += number(figures.filling);
      sum.diskBytes += number(figures.diskBytes);
      sum.diskEntries += number(figures.diskEntries);
      if (typeof figures.diskFailure === "string") sum.diskFailure ??= figures.diskFailure;
    }
    for (const [label, counters] of Object.entries(figures.routes ?? {})) {
      sum.routes[label] ??= {
        hits: 0,
        stale: 0,
        misses: 0,
        revalidated: 0,
        bypass: 0,
        coalesced: 0,
      };
      addNumbers(sum.routes[label], counters);
    }
  }
}

function addNumbers<T extends object>(into: T, from: Partial<T> | undefined): void {
  const target = into as Record<string, number>;
  for (const key of Object.keys(target)) {
    target[key] += number((from as Record<string, unknown> | undefined)?.[key]);
  }
}

function number(value: unknown): number {
  return typeof value === "number" && Number.isFinite(value) ? value : 0;
}
