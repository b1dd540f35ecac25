/** JSON views of the L4 connection tables (tcp connections, udp sessions) and persistence bindings. */
import type { Listener } from "../net/listener.js";
import { formatHostPort } from "../pool/backend.js";
import type { Runtime } from "../runtime/runtime.js";
import { HttpError } from "./http-util.js";

/** Rows returned by default; a busy listener holds far more than anyone reads at once. */
export const DEFAULT_TABLE_LIMIT = 1000;
/** The most rows one answer may hold, whatever `?limit=` asks. */
export const MAX_TABLE_LIMIT = 100_000;

/** One listener's table: the first `limit` rows and how many there are in all. */
export interface ListenerTableView {
  listener: string;
  protocol: string;
  /** The pool the listener balances over; its backends' addresses fill `backendAddress`. */
  pool: string | undefined;
  /** Rows in the table, even those left out by the limit. */
  total: number;
  truncated: boolean;
  rows: Record<string, unknown>[];
}

/** Which table a view lists. */
export type TableKind = "connections" | "persistence";

/** `?limit=` as a whole number in [0, MAX_TABLE_LIMIT]; the default when absent. */
export function parseLimit(query: URLSearchParams): number {
  const text = query.get("limit");
  if (text === null || text === "") return DEFAULT_TABLE_LIMIT;
  if (!/^\d+$/.test(text) || Number(text) > MAX_TABLE_LIMIT) {
    throw new HttpError(400, `limit must be a whole number from 0 to ${MAX_TABLE_LIMIT}`, {
      example: "?limit=100",
    });
  }
  return Number(text);
}

/** The listener by name; a 404 that lists the names when there is none. */
export function requireListener(runtime: Runtime, name: string): Listener {
  const listener = runtime.listeners.get(name);
  if (listener === undefined) {
    throw new HttpError(404, `no listener "${name}"`, { listeners: [...runtime.listeners.keys()] });
  }
  return listener;
}

/** One listener's table; a 404 when its data plane keeps no such table (http, dns). */
export function listenerTable(
  runtime: Runtime,
  listener: Listener,
  kind: TableKind,
  limit: number,
): ListenerTableView {
  const rows = tableRows(listener, kind);
  if (rows === undefined) {
    throw new HttpError(
      404,
      `listener "${listener.name}" (${listener.protocol}) keeps no ${kind} table`,
      {
        listeners: tableListeners(runtime, kind),
      },
    );
  }
  return view(runtime, listener, rows, limit);
}

/** Every listener that keeps such a table; `limit` bounds the rows of the whole answer. */
export function allTables(runtime: Runtime, kind: TableKind, limit: number): ListenerTableView[] {
  const views: ListenerTableView[] = [];
  let left = limit;
  for (const listener of runtime.listeners.values()) {
    const rows = tableRows(listener, kind);
    if (rows === undefined) continue;
    const shown = view(runtime, listener, rows, left);
    left -= shown.rows.length;
    views.push(shown);
  }
  return views;
}

function tableRows(listener: Listener, kind: TableKind): object[] | undefined {
  return kind === "connections" ? listener.connections?.() : listener.persistence?.();
}

function tableListeners(runtime: Runtime, kind: TableKind): string[] {
  const names: string[] = [];
  for (const listener of runtime.listeners.values()) {
    const has = kind === "connections" ? listener.connections : listener.persistence;
    if (has !== undefined) names.push(listener.name);
  }
  return names;
}

function view(
  runtime: Runtime,
  listener: Listener,
  rows: object[],
  limit: number,
): ListenerTableView {
  const poolName = poolOf(runtime, listener.name);
  const pool = poolName === undefined ? undefined : runtime.pools.get(poolName);
  const shown = rows.length > limit ? rows.slice(0, limit) : rows;
  return {
    listener: listener.name,
    protocol: listener.protocol,
    pool: poolName,
    total: rows.length,
    truncated: shown.length < rows.length,
    // The row names the backend by id (often a name); its address is what ipvsadm shows.
    rows: shown.map((row) => {
      const backend = (row as { backend?: unknown }).backend;
      const state = typeof backend === "string" ? pool?.get(backend) : undefined;
      return {
        ...row,
        backendAddress: state === undefined ? null : formatHostPort(state.host, state.port),
      };
    }),
  };
}

/** The pool of an L4 listener, from the running config. */
function poolOf(runtime: Runtime, name: string): string | undefined {
  const config = runtime.config.listeners.find((listener) => listener.name === name);
  return config !== undefined && "pool" in config && typeof config.pool === "string"
    ? config.pool
    : undefined;
}
