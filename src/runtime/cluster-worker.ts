/**
 * A worker's side of `workers: N` (see cluster-primary.ts): it takes the primary's control
 * state (health verdicts, weights, drains, members, reloads) into its pools, reports its
 * counts every COUNT_EXCHANGE_MS, and adds the connections the other workers hold to its
 * own, so connection-count algorithms and `max_connections` see the whole balancer. Its
 * pools' persistence bindings go to the other workers through the primary, and theirs come
 * back, so a client keeps its backend whichever worker takes its connection; a backend its
 * passive detection suspends is suspended in every worker.
 */
import { loadConfigFile, parseConfigText } from "../config/load.js";
import type { Config } from "../config/schema/index.js";
import type { SharedBinding } from "../pool/persistence.js";
import {
  applyBackendControl,
  type BackendReport,
  BINDINGS_FLUSH_MS,
  COUNT_EXCHANGE_MS,
  type FromWorker,
  isBallastMessage,
  isWellFormedPeerMessage,
  type ListenerReport,
  REPORTED_COUNTERS,
  type ReloadOrigin,
  TABLE_REPORT_LIMIT,
  TABLE_REPORT_MS,
  type ToWorker,
  WORKER_CONFIG_ENV,
} from "./cluster-protocol.js";
import { reloadFromFile, reloadFromText } from "./reload.js";
import type { Runtime } from "./runtime.js";

/** How long a starting worker waits for the primary's state before it serves anyway (ms). */
const SNAPSHOT_WAIT_MS = 10_000;

/**
 * The config a worker starts from: the primary's current one when a reload replaced the
 * start file's (WORKER_CONFIG_ENV), else undefined (the start file).
 */
export function inheritedConfig(): Promise<Config> | undefined {
  const origin = process.env[WORKER_CONFIG_ENV];
  if (origin === undefined || origin === "") return undefined;
  const parsed = JSON.parse(origin) as ReloadOrigin;
  return "file" in parsed
    ? loadConfigFile(parsed.file)
    : Promise.resolve(parseConfigText(parsed.text, parsed.sourceName));
}

/** A worker's link to the primary; `close` stops reporting. */
export interface ClusterFollower {
  close(): void;
}

/**
 * Joins the primary: resolves once the primary's state is in the pools (or after
 * SNAPSHOT_WAIT_MS), so the first request already sees the health checks' verdicts.
 */
export async function followPrimary(runtime: Runtime): Promise<ClusterFollower> {
  let snapshotArrived: () => void = () => {};
  const firstSnapshot = new Promise<void>((resolve) => {
    snapshotArrived = resolve;
  });
  let reloads: Promise<unknown> = Promise.resolve();
  const onMessage = (message: unknown) => {
    if (!isBallastMessage(message)) return;
    const m = message as ToWorker;
    if (m.type === "ballast:snapshot") {
      applySnapshot(runtime, m.pools);
      snapshotArrived();
    } else if (m.type === "ballast:backend") {
      const pool = runtime.pools.get(m.pool);
      if (pool !== undefined) applyBackendControl(pool, m.backend);
    } else if (m.type === "ballast:removed") {
      runtime.pools.get(m.pool)?.remove(m.id);
    } else if (m.type === "ballast:counts") {
      for (const [name, backends] of Object.entries(m.pools)) {
        const pool = runtime.pools.get(name);
        if (pool === undefined) continue;
        for (const [id, [active, inactive]] of Object.entries(backends)) {
          pool.setSharedCounts(id, active, inactive);
        }
      }
    } else if (m.type === "ballast:bindings" || m.type === "ballast:suspended") {
      if (!isWellFormedPeerMessage(m)) return;
      const pool = runtime.pools.get(m.pool);
      if (m.type === "ballast:bindings") pool?.learnPersistence(m.bindings);
      else pool?.learnSuspension(m.id, m.forMs);
    } else if (m.type === "ballast:close") {
      for (const listener of runtime.listeners.values()) {
        listener.closeConnectionsTo?.(m.pool, m.id);
      }
    } else if (m.type === "ballast:reload") {
      // One after the other, as the primary sent them.
      reloads = reloads.then(async () => {
        const outcome =
          "file" in m.origin
            ? await reloadFromFile(runtime, m.origin.file)
            : await reloadFromText(runtime, m.origin.text, m.origin.sourceName);
        const notApplied = outcome.ok ? outcome.notApplied : outcome.errors;
        peers.share(); // a reload may have added pools
        send({ type: "ballast:reloaded", seq: m.seq, ok: outcome.ok, notApplied });
      });
    }
  };
  const peers = new PeerOutbox(runtime);
  peers.share();
  process.on("message", onMessage);
  send({ type: "ballast:hello" });
  let waited: NodeJS.Timeout | undefined;
  await Promise.race([
    firstSnapshot,
    new Promise<void>((resolve) => {
      waited = setTimeout(() => {
        runtime.logger.warn("no state from the primary yet; serving with the config's");
        resolve();
      }, SNAPSHOT_WAIT_MS);
    }),
  ]);
  clearTimeout(waited);

  let tablesSentAt = 0;
  const timer = setInterval(() => {
    const now = Date.now();
    const withTables = now - tablesSentAt >= TABLE_REPORT_MS;
    if (withTables) tablesSentAt = now;
    send(report(runtime, withTables));
  }, COUNT_EXCHANGE_MS);
  timer.unref();
  return {
    close() {
      clearInterval(timer);
      peers.close();
      process.off("message", onMessage);
    },
  };
}

/**
 * Gathers the pools' new persistence bindings and sends them within BINDINGS_FLUSH_MS; passes
 * their suspensions on as they happen.
 */
class PeerOutbox {
  private readonly waiting = new Map<string, SharedBinding[]>();
  private timer: NodeJS.Timeout | undefined;

  constructor(private readonly runtime: Runtime) {}

  /** Has every pool of the runtime announce here; suspensions go at once (they are rare). */
  share(): void {
    for (const [name, pool] of this.runtime.pools) {
      pool.sharePersistence((binding) => this.add(name, binding));
      pool.shareSuspensions((id, forMs) =>
        send({ type: "ballast:suspended", pool: name, id, forMs }),
      );
    }
  }

  close(): void {
    clearTimeout(this.timer);
    for (const pool of this.runtime.pools.values()) {
      pool.sharePersistence(undefined);
      pool.shareSuspensions(undefined);
    }
  }

  private add(pool: string, binding: SharedBinding): void {
    const list = this.waiting.get(pool);
    if (list === undefined) this.waiting.set(pool, [binding]);
    else list.push(binding);
    this.timer ??= setTimeout(() => this.flush(), BINDINGS_FLUSH_MS);
  }

  private flush(): void {
    this.timer = undefined;
    for (const [pool, bindings] of this.waiting) send({ type: "ballast:bindings", pool, bindings });
    this.waiting.clear();
  }
}

/** Makes the pools' members and their state what the primary says. */
function applySnapshot(
  runtime: Runtime,
  pools: Record<string, Parameters<typeof applyBackendControl>[1][]>,
) {
  for (const [name, backends] of Object.entries(pools)) {
    const pool = runtime.pools.get(name);
    if (pool === undefined) continue;
    const wanted = new Set(backends.map((backend) => backend.spec.id));
    for (const backend of [...pool.backends]) {
      if (!wanted.has(backend.id)) pool.remove(backend.id);
    }
    for (const backend of backends) applyBackendControl(pool, backend);
  }
}

/** This worker's own counts and counters, and its listeners' stats. */
function report(runtime: Runtime, withTables: boolean): FromWorker {
  const pools: Record<string, Record<string, BackendReport>> = {};
  for (const [name, pool] of runtime.pools) {
    const backends: Record<string, BackendReport> = {};
    for (const b of pool.backends) {
      const numbers = [b.active - b.sharedActive, b.inactive - b.sharedInactive];
      for (const counter of REPORTED_COUNTERS) numbers.push(b.counters[counter]);
      numbers.push(b.latencyMs);
      backends[b.id] = numbers;
    }
    pools[name] = backends;
  }
  const listeners: Record<string, ListenerReport> = {};
  for (const [name, listener] of runtime.listeners) {
    const entry: ListenerReport = { ...listener.address(), stats: listener.stats() };
    if (listener.answerCounts !== undefined) entry.answers = listener.answerCounts();
    if (withTables) {
      if (listener.connections !== undefined) {
        entry.connections = listener.connections().slice(0, TABLE_REPORT_LIMIT);
      }
      if (listener.persistence !== undefined) {
        entry.persistence = listener.persistence().slice(0, TABLE_REPORT_LIMIT);
      }
      // Every worker serves the same zones; each sends them so any one of them will do.
      if (listener.zones !== undefined) entry.zones = listener.zones();
    }
    listeners[name] = entry;
  }
  return { type: "ballast:stats", pools, listeners };
}

/** A message to the primary; if it is gone, SIGTERM or the exit of the channel follows. */
function send(message: FromWorker): void {
  // With a callback, a failed send is not an 'error' event that would crash the worker.
  if (process.connected) process.send?.(message, undefined, undefined, ignoreSendError);
}

function ignoreSendError(): void {}
