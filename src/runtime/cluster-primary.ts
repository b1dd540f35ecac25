/**
 * The primary's side of `workers: N`. The primary runs a Runtime of its own with the pools,
 * the health checks, the registry and the admin API, but no data plane: its listeners are
 * ClusterListeners that show what the workers report. It tells the workers every control
 * change (a health verdict, a weight, a drain, a member added or removed, a reload), and
 * every COUNT_EXCHANGE_MS it sums the workers' counts into its own pools (so the admin API,
 * `ctl`, the metrics and the dashboard show the whole balancer) and sends each worker the
 * connections the others hold, which its connection-count algorithms add to their own.
 * Every TABLE_REPORT_MS the workers also send their connection and persistence tables and
 * their dns zones, which the primary's listeners show. The persistence bindings a worker
 * makes and the backends its passive detection suspends pass through the primary to every
 * other worker.
 */
import cluster, { type Worker } from "node:cluster";
import type { ListenerConfig } from "../config/schema/index.js";
import type { Logger } from "../log.js";
import type { Listener } from "../net/listener.js";
import type { BackendCounters } from "../pool/backend.js";
import {
  type BackendReport,
  backendControl,
  COUNT_EXCHANGE_MS,
  type DnsAnswerCounts,
  type FromWorker,
  isBallastMessage,
  isWellFormedPeerMessage,
  type ListenerReport,
  REPORTED_COUNTERS,
  REPORTED_TABLES,
  type ReloadOrigin,
  type ToWorker,
  WORKER_CONFIG_ENV,
} from "./cluster-protocol.js";
import type { Runtime } from "./runtime.js";

/** How long the primary waits for the workers to apply a reload (ms). */
const RELOAD_WAIT_MS = 60_000;

/** What the primary knows of one worker. */
interface WorkerEntry {
  worker: Worker;
  /** Set once the worker asked for the state: from then on it hears every change. */
  joined: boolean;
  pools: Record<string, Record<string, BackendReport>>;
  listeners: Record<string, ListenerReport>;
}

interface PendingReload {
  waiting: Set<number>;
  notApplied: string[];
  done: () => void;
}

/** The primary's hub: see the file's comment. */
export class ClusterHub {
  private runtime: Runtime | undefined;
  private readonly workers = new Map<number, WorkerEntry>();
  /** Counters of workers that exited, so totals never go back (Prometheus counters). */
  private readonly retired = new Map<string, number[]>();
  private readonly pending = new Map<number, PendingReload>();
  private reloadSeq = 0;
  /** Where the running config came from, once a reload replaced the start file's. */
  private lastOrigin: ReloadOrigin | undefined;
  private timer: NodeJS.Timeout | undefined;
  private offPoolEvents: (() => void) | undefined;
  private readonly onMessage = (worker: Worker, message: unknown) => {
    if (isBallastMessage(message)) this.handle(worker, message as FromWorker);
  };
  private readonly onExit = (worker: Worker) => this.forget(worker);

  constructor(private readonly logger: Logger) {}

  /** Makes the primary's listeners: views of what the workers' listeners report. */
  readonly listenerFactory = (config: ListenerConfig): Listener =>
    new ClusterListener(config, this);

  /** Starts serving the workers of `runtime` (the primary's own). */
  attach(runtime: Runtime): void {
    this.runtime = runtime;
    cluster.on("message", this.onMessage);
    cluster.on("exit", this.onExit);
    this.offPoolEvents = runtime.onPoolEvent((event) => {
      if (event.type === "removed") {
        this.broadcast({ type: "ballast:removed", pool: event.pool, id: event.backend.id });
      } else {
        const pool = runtime.pools.get(event.pool);
        if (pool?.get(event.backend.id) !== event.backend) return;
        const backend = backendControl(event.backend);
        this.broadcast({ type: "ballast:backend", pool: event.pool, backend });
      }
    });
    this.timer = setInterval(() => this.exchange(), COUNT_EXCHANGE_MS);
    this.timer.unref();
  }

  /** Stops listening to the workers. */
  close(): void {
    if (this.timer) clearInterval(this.timer);
    this.offPoolEvents?.();
    cluster.off("message", this.onMessage);
    cluster.off("exit", this.onExit);
    for (const pending of this.pending.values()) pending.done();
  }

  /**
   * Has every joined worker apply the reload the primary just applied; resolves with what
   * they could not apply.
   */
  reloadWorkers(origin: ReloadOrigin | undefined): Promise<string[]> {
    if (origin !== undefined) this.lastOrigin = origin;
    const joined = [...this.workers.values()].filter((entry) => entry.joined);
    if (joined.length === 0) return Promise.resolve([]);
    if (origin === undefined) {
      return Promise.resolve(["workers: the new config has no file or text to send them"]);
    }
    const seq = ++this.reloadSeq;
    return new Promise<string[]>((resolve) => {
      const pending: PendingReload = {
        waiting: new Set(joined.map((entry) => entry.worker.id)),
        notApplied: [],
        done: () => {
          clearTimeout(timeout);
          this.pending.delete(seq);
          resolve(pending.notApplied);
        },
      };
      const timeout = setTimeout(() => {
        pending.notApplied.push(`workers ${[...pending.waiting].join(", ")}: no answer`);
        pending.done();
      }, RELOAD_WAIT_MS);
      this.pending.set(seq, pending);
      for (const entry of joined) send(entry.worker, { type: "ballast:reload", seq, origin });
    });
  }

  /** The environment of a worker forked now: it starts from the running config. */
  forkEnvironment(): Record<string, string> {
    return this.lastOrigin === undefined
      ? {}
      : { [WORKER_CONFIG_ENV]: JSON.stringify(this.lastOrigin) };
  }

  /** Asks every worker to close its connections to a backend (a drain's cap ran out). */
  closeConnectionsTo(pool: string, id: string): void {
    this.broadcast({ type: "ballast:close", pool, id });
  }

  /** The workers' reports of one listener, newest first. */
  listenerReports(name: string): ListenerReport[] {
    const reports: ListenerReport[] = [];
    for (const entry of this.workers.values()) {
      const report = entry.listeners[name];
      if (report !== undefined) reports.push(report);
    }
    return reports;
  }

  /** The rows of one listener's table over every worker, each tagged with its worker. */
  listenerRows(name: string, table: "connections" | "persistence"): object[] {
    const rows: object[] = [];
    for (const entry of this.workers.values()) {
      for (const row of entry.listeners[name]?.[table] ?? []) {
        rows.push({ worker: entry.worker.id, ...row });
      }
    }
    return rows;
  }

  private handle(worker: Worker, message: FromWorker): void {
    const entry = this.entry(worker);
    if (message.type === "ballast:hello") {
      entry.joined = true;
      this.sendSnapshot(worker);
    } else if (message.type === "ballast:stats") {
      entry.pools = message.pools ?? {};
      const listeners = message.listeners ?? {};
      // Tables come only now and then; in between, the last one stands.
      for (const [name, report] of Object.entries(listeners)) {
        const last = entry.listeners[name];
        for (const table of REPORTED_TABLES) report[table] ??= last?.[table];
      }
      entry.listeners = listeners;
    } else if (message.type === "ballast:bindings" || message.type === "ballast:suspended") {
      if (!isWellFormedPeerMessage(message)) {
        this.logger.error(
          { worker: worker.id, type: message.type },
          "a malformed worker message was dropped",
        );
        return;
      }
      for (const other of this.workers.values()) {
        if (other.joined && other !== entry) send(other.worker, message);
      }
    } else if (message.type === "ballast:reloaded") {
      const pending = this.pending.get(message.seq);
      if (!message.ok) this.logger.error({ worker: worker.id }, "a worker refused the reload");
      // The worker's own reload put its config's members back; the primary's state rules.
      this.sendSnapshot(worker);
      if (pending === undefined) return;
      for (const item of message.notApplied ?? []) {
        pending.notApplied.push(`worker ${worker.id}: ${item}`);
      }
      pending.waiting.delete(worker.id);
      if (pending.waiting.size === 0) pending.done();
    }
  }

  private entry(worker: Worker): WorkerEntry {
    let entry = this.workers.get(worker.id);
    if (entry === undefined) {
      entry = { worker, joined: false, pools: {}, listeners: {} };
      this.workers.set(worker.id, entry);
    }
    return entry;
  }

  private sendSnapshot(worker: Worker): void {
    const pools: Record<string, ReturnType<typeof backendControl>[]> = {};
    for (const [name, pool] of this.runtime?.pools ?? []) {
      pools[name] = pool.backends.map(backendControl);
    }
    send(worker, { type: "ballast:snapshot", pools });
  }

  /** A worker exited: its counters become history and its connections are gone. */
  private forget(worker: Worker): void {
    const entry = this.workers.get(worker.id);
    if (entry === undefined) return;
    this.workers.delete(worker.id);
    for (const [pool, backends] of Object.entries(entry.pools)) {
      for (const [id, report] of Object.entries(backends)) {
        const key = `${pool}\0${id}`;
        const sums = this.retired.get(key) ?? REPORTED_COUNTERS.map(() => 0);
        for (let i = 0; i < sums.length; i++) sums[i] += report[2 + i] ?? 0;
        this.retired.set(key, sums);
      }
    }
    for (const [seq, pending] of this.pending) {
      if (pending.waiting.delete(worker.id) && pending.waiting.size === 0) {
        this.pending.get(seq)?.done();
      }
    }
    this.exchange();
  }

  /** Sums the workers' reports into the primary's pools; tells each worker the others' counts. */
  private exchange(): void {
    const runtime = this.runtime;
    if (runtime === undefined) return;
    const entries = [...this.workers.values()];
    const totals: Record<string, Record<string, [number, number]>> = {};
    for (const [name, pool] of runtime.pools) {
      const poolTotals: Record<string, [number, number]> = {};
      totals[name] = poolTotals;
      for (const backend of pool.backends) {
        const key = `${name}\0${backend.id}`;
        const counters = this.retired.get(key)?.slice() ?? REPORTED_COUNTERS.map(() => 0);
        let active = 0;
        let inactive = 0;
        let latencySum = 0;
        let latencyCount = 0;
        for (const entry of entries) {
          const report = entry.pools[name]?.[backend.id];
          if (report === undefined) continue;
          active += report[0] ?? 0;
          inactive += report[1] ?? 0;
          for (let i = 0; i < counters.length; i++) counters[i] += report[2 + i] ?? 0;
          const latency = report[2 + counters.length] ?? 0;
          if (latency > 0) {
            latencySum += latency;
            latencyCount++;
          }
        }
        poolTotals[backend.id] = [active, inactive];
        const target = backend.counters as unknown as Record<string, number>;
        REPORTED_COUNTERS.forEach((counter: keyof BackendCounters, i) => {
          // Never backwards: a worker's report can lag the history of one that exited.
          if (counters[i] > target[counter]) target[counter] = counters[i];
        });
        if (latencyCount > 0) backend.latencyMs = latencySum / latencyCount;
        pool.setSharedCounts(backend.id, active, inactive);
      }
    }
    for (const entry of entries) {
      if (!entry.joined) continue;
      const others: Record<string, Record<string, [number, number]>> = {};
      for (const [name, backends] of Object.entries(totals)) {
        const own = entry.pools[name] ?? {};
        const rest: Record<string, [number, number]> = {};
        for (const [id, [active, inactive]] of Object.entries(backends)) {
          const mine = own[id];
          rest[id] = [
            Math.max(0, active - (mine?.[0] ?? 0)),
            Math.max(0, inactive - (mine?.[1] ?? 0)),
          ];
        }
        others[name] = rest;
      }
      send(entry.worker, { type: "ballast:counts", pools: others });
    }
  }

  private broadcast(message: ToWorker): void {
    for (const entry of this.workers.values()) if (entry.joined) send(entry.worker, message);
  }
}

/** A message to a worker that may have died meanwhile: the exit handler cleans up then. */
function send(worker: Worker, message: ToWorker): void {
  if (!worker.isConnected()) return;
  // With a callback, a send to a dead worker reports EPIPE here instead of as an 'error'
  // event, which with no listener would crash the primary.
  worker.send(message, undefined, ignoreSendError);
}

function ignoreSendError(): void {}

/**
 * A listener of the primary: it binds nothing (the workers do) and shows the sum of what
 * the workers report.
 */
class ClusterListener implements Listener {
  readonly name: string;
  readonly protocol: ListenerConfig["protocol"];
  private config: ListenerConfig;
  /** Only the data planes that keep tables (tcp, udp) have these. */
  readonly connections: (() => object[]) | undefined;
  readonly persistence: (() => object[]) | undefined;
  /** Only dns listeners have these. */
  readonly zones: (() => object[]) | undefined;
  readonly answerCounts: (() => DnsAnswerCounts) | undefined;

  constructor(
    config: ListenerConfig,
    private readonly hub: ClusterHub,
  ) {
    this.name = config.name;
    this.protocol = config.protocol;
    this.config = config;
    const l4 = config.protocol === "tcp" || config.protocol === "udp";
    const dns = config.protocol === "dns";
    this.connections = l4 ? () => this.hub.listenerRows(this.name, "connections") : undefined;
    this.persistence = l4 ? () => this.hub.listenerRows(this.name, "persistence") : undefined;
    // Every worker serves the same zones with the same verdicts: one worker's view is the view.
    this.zones = dns
      ? () => this.hub.listenerReports(this.name).find((r) => r.zones)?.zones ?? []
      : undefined;
    this.answerCounts = dns ? () => this.sumAnswers() : undefined;
  }

  start(): Promise<void> {
    return Promise.resolve();
  }

  update(config: ListenerConfig): void {
    this.config = config;
  }

  stop(): Promise<void> {
    return Promise.resolve();
  }

  address(): { host: string; port: number } {
    const report = this.hub.listenerReports(this.name)[0];
    return report ?? this.config.bind;
  }

  stats(): Record<string, number> {
    const sums: Record<string, number> = {};
    for (const report of this.hub.listenerReports(this.name)) {
      for (const [key, value] of Object.entries(report.stats)) sums[key] = (sums[key] ?? 0) + value;
    }
    return sums;
  }

  closeConnectionsTo(pool: string, backendId: string): number {
    this.hub.closeConnectionsTo(pool, backendId);
    return 0;
  }

  /** The workers' answer counters, summed. */
  private sumAnswers(): DnsAnswerCounts {
    const sums: DnsAnswerCounts = { zones: {}, regions: {} };
    for (const { answers } of this.hub.listenerReports(this.name)) {
      if (answers === undefined) continue;
      for (const [zone, byRcode] of Object.entries(answers.zones)) {
        sums.zones[zone] = addCounts(sums.zones[zone] ?? {}, byRcode);
      }
      addCounts(sums.regions, answers.regions);
    }
    return sums;
  }
}

/** Adds `more` into `into`, key by key; returns `into`. */
function addCounts(into: Record<string, number>, more: Record<string, number>) {
  for (const [key, value] of Object.entries(more)) into[key] = (into[key] ?? 0) + value;
  return into;
}
