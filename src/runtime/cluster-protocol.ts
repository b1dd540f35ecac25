/**
 * The messages of `workers: N` between the primary, which owns the control state (health
 * checks, admin changes, the registry), and the workers, which serve traffic. They travel
 * over node:cluster's IPC channel, which only our own processes hold.
 */
import type { Listener } from "../net/listener.js";
import type { BackendRole, BackendSpec, BackendState, Health } from "../pool/backend.js";
import type { SharedBinding } from "../pool/persistence.js";
import type { Pool } from "../pool/pool.js";

/** How often workers report their counts and the primary answers with everyone else's (ms). */
export const COUNT_EXCHANGE_MS = 100;

/** A worker sends its new persistence bindings at most this long after it made them (ms). */
export const BINDINGS_FLUSH_MS = 10;

/** Connection tables travel at most this often, since they can be long (ms). */
export const TABLE_REPORT_MS = 1000;

/** Entries of one listener's connection (or persistence) table a worker reports at most. */
export const TABLE_REPORT_LIMIT = 1000;

/** What the primary decides about a backend, and what a worker needs to create it. */
export interface BackendControl {
  spec: BackendSpec & { id: string };
  health: Health;
  role: BackendRole | null;
  enabled: boolean;
  draining: boolean;
  weightFactor: number;
}

/**
 * One backend's numbers from one worker, in a fixed order: active, inactive, then the
 * counters (picks, requests, failures, connectErrors, responseErrors, bytesIn, bytesOut),
 * then the latency estimate in ms.
 */
export type BackendReport = number[];

/** The counters in BackendReport's order, after active and inactive. */
export const REPORTED_COUNTERS = [
  "picks",
  "requests",
  "failures",
  "connectErrors",
  "responseErrors",
  "bytesIn",
  "bytesOut",
] as const;

/** One listener as a worker reports it. */
export interface ListenerReport {
  host: string;
  port: number;
  stats: Record<string, number>;
  /** The connection table, sent at most every TABLE_REPORT_MS. */
  connections?: object[];
  /** The persistence bindings, sent with the connection table. */
  persistence?: object[];
  /** dns: the zones and what each name answers now, sent with the connection table. */
  zones?: object[];
  /** dns: this worker's answers by zone and RCODE and by region, in every report. */
  answers?: DnsAnswerCounts;
}

/** A dns listener's answer counters (Listener's `answerCounts`). */
export type DnsAnswerCounts = ReturnType<NonNullable<Listener["answerCounts"]>>;

/** The tables a worker reports only now and then: the last one stands in between. */
export const REPORTED_TABLES = ["connections", "persistence", "zones"] as const;

/** From the primary to a worker. */
export type ToWorker =
  | { type: "ballast:snapshot"; pools: Record<string, BackendControl[]> }
  | { type: "ballast:backend"; pool: string; backend: BackendControl }
  | { type: "ballast:removed"; pool: string; id: string }
  | { type: "ballast:counts"; pools: Record<string, Record<string, [number, number]>> }
  | { type: "ballast:reload"; seq: number; origin: ReloadOrigin }
  | { type: "ballast:close"; pool: string; id: string }
  | PersistenceBindings
  | Suspension;

/**
 * A backend one worker's passive detection suspended, for how long (ms): the primary passes
 * it to every other worker.
 */
export interface Suspension {
  type: "ballast:suspended";
  pool: string;
  id: string;
  forMs: number;
}

/**
 * Persistence bindings one worker made (to the primary), which the primary passes to every
 * other worker.
 */
export interface PersistenceBindings {
  type: "ballast:bindings";
  pool: string;
  bindings: SharedBinding[];
}

/** From a worker to the primary. */
export type FromWorker =
  | { type: "ballast:hello" }
  | {
      type: "ballast:stats";
      pools: Record<string, Record<string, BackendReport>>;
      listeners: Record<string, ListenerReport>;
    }
  | { type: "ballast:reloaded"; seq: number; ok: boolean; notApplied: string[] }
  | PersistenceBindings
  | Suspension;

/** Where a reload's config came from, so each worker reads and checks it the same way. */
export type ReloadOrigin = { file: string } | { text: string; sourceName: string };

/**
 * The environment variable that gives a worker forked after a reload the primary's current
 * config (a ReloadOrigin as JSON), rather than the file `ballast start` was given.
 */
export const WORKER_CONFIG_ENV = "BALLAST_WORKER_CONFIG";

/** True for a message of this protocol (the IPC channel also carries node's own). */
export function isBallastMessage(message: unknown): message is { type: string } {
  return (
    typeof message === "object" &&
    message !== null &&
    typeof (message as { type?: unknown }).type === "string" &&
    (message as { type: string }).type.startsWith("ballast:")
  );
}

/**
 * True for a well-formed binding or suspension message. The primary passes these from one
 * worker to the others as they are, so each is checked before it is relayed and again where
 * it is applied: a worker's bug must not crash its peers.
 */
export function isWellFormedPeerMessage(m: PersistenceBindings | Suspension): boolean {
  if (typeof m.pool !== "string") return false;
  if (m.type === "ballast:suspended") {
    return typeof m.id === "string" && Number.isFinite(m.forMs) && m.forMs > 0;
  }
  return (
    Array.isArray(m.bindings) &&
    m.bindings.every(
      (b) =>
        Array.isArray(b) &&
        typeof b[0] === "string" &&
        typeof b[1] === "string" &&
        Number.isFinite(b[2]),
    )
  );
}

/** The control state of a backend, for a worker. */
export function backendControl(backend: BackendState): BackendControl {
  return {
    spec: {
      id: backend.id,
      host: backend.host,
      port: backend.port,
      weight: backend.configuredWeight,
      backup: backend.backup,
      redirectUrl: backend.redirectUrl,
      maxConnections: backend.maxConnections,
      minConnections: backend.minConnections,
      source: backend.source,
    },
    health: backend.health,
    role: backend.role ?? null,
    enabled: backend.enabled,
    draining: backend.draining,
    weightFactor: backend.weightFactor,
  };
}

/** Makes a worker's backend match the primary's decision, adding it when it is new. */
export function applyBackendControl(pool: Pool, control: BackendControl): void {
  const { id } = control.spec;
  const backend = pool.get(id) ?? pool.add(control.spec);
  const weight = control.spec.weight ?? 1;
  if (backend.configuredWeight !== weight) pool.setWeight(id, weight);
  if (backend.weightFactor !== control.weightFactor) pool.setWeightFactor(id, control.weightFactor);
  if (control.role !== null && backend.role !== control.role) {
    pool.setRole(id, control.role, "found by the primary's check");
  }
  if (backend.health !== control.health) {
    pool.setHealth(id, control.health, "verdict of the primary's health check");
  }
  // setEnabled(true) also ends a drain, so it comes first and the drain is set again after.
  if (backend.enabled !== control.enabled || (backend.draining && !control.draining)) {
    pool.setEnabled(id, control.enabled);
  }
  if (control.draining && !backend.draining) pool.drain(id);
}
