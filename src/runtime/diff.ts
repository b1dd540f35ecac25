/** What changed between the running config and a new one: pools, backends, listeners. */
import type { BackendConfig, Config, ListenerConfig, PoolConfig } from "../config/schema/index.js";
import { formatHostPort } from "../pool/backend.js";

/** The backends of one pool that stays, compared by id. */
export interface BackendDiff {
  added: BackendConfig[];
  removed: string[];
  /** Same id, different settings (weight, thresholds, address, backup). */
  changed: BackendConfig[];
}

/** A pool present in both configs whose settings or backends differ. */
export interface ChangedPool {
  name: string;
  config: PoolConfig;
  /** True when anything besides the backend list changed (algorithm, health, ...). */
  settingsChanged: boolean;
  backends: BackendDiff;
}

/** The listeners, split by how each must be applied. */
export interface ListenerDiff {
  added: ListenerConfig[];
  removed: string[];
  /** Same name, bind and protocol: applied in place with `Listener.update` (a renewed certificate too). */
  updated: ListenerConfig[];
  /** Same name, but bind, protocol or TLS on/off changed: a new listener replaces the old one. */
  replaced: ListenerConfig[];
}

/** Everything a reload must do. */
export interface ConfigDiff {
  pools: { added: string[]; removed: string[]; changed: ChangedPool[] };
  listeners: ListenerDiff;
  /** True when the admin section changed (applied only on restart). */
  adminChanged: boolean;
}

/** The id a configured backend gets in its pool: its name, or "host:port". */
export function backendId(backend: BackendConfig): string {
  return backend.name ?? formatHostPort(backend.address.host, backend.address.port);
}

/** Compares two validated configs. */
export function diffConfigs(before: Config, after: Config): ConfigDiff {
  return {
    pools: diffPools(before.pools, after.pools),
    listeners: diffListeners(before.listeners, after.listeners),
    adminChanged: !same(before.admin, after.admin),
  };
}

/** True when the diff asks for no change at all. */
export function isEmptyDiff(diff: ConfigDiff): boolean {
  const { pools, listeners } = diff;
  return (
    pools.added.length + pools.removed.length + pools.changed.length === 0 &&
    listeners.added.length +
      listeners.removed.length +
      listeners.updated.length +
      listeners.replaced.length ===
      0
  );
}

/** A short human summary for logs and the reload answer. */
export function summarizeDiff(diff: ConfigDiff): Record<string, unknown> {
  const { pools, listeners } = diff;
  return {
    poolsAdded: pools.added,
    poolsRemoved: pools.removed,
    poolsChanged: pools.changed.map((p) => p.name),
    backendsAdded: pools.changed.flatMap((p) =>
      p.backends.added.map((b) => `${p.name}/${backendId(b)}`),
    ),
    backendsRemoved: pools.changed.flatMap((p) =>
      p.backends.removed.map((id) => `${p.name}/${id}`),
    ),
    backendsChanged: pools.changed.flatMap((p) =>
      p.backends.changed.map((b) => `${p.name}/${backendId(b)}`),
    ),
    listenersAdded: listeners.added.map((l) => l.name),
    listenersRemoved: listeners.removed,
    listenersUpdated: listeners.updated.map((l) => l.name),
    listenersReplaced: listeners.replaced.map((l) => l.name),
  };
}

function diffPools(
  before: Record<string, PoolConfig>,
  after: Record<string, PoolConfig>,
): ConfigDiff["pools"] {
  // Own keys only: `in` and `before[name]` would find "constructor" on the prototype.
  const added = Object.keys(after).filter((name) => !Object.hasOwn(before, name));
  const removed = Object.keys(before).filter((name) => !Object.hasOwn(after, name));
  const changed: ChangedPool[] = [];
  for (const [name, next] of Object.entries(after)) {
    if (!Object.hasOwn(before, name)) continue;
    const previous = before[name];
    if (same(previous, next)) continue;
    const { backends: _a, ...previousSettings } = previous;
    const { backends: _b, ...nextSettings } = next;
    changed.push({
      name,
      config: next,
      settingsChanged: !same(previousSettings, nextSettings),
      backends: diffBackends(previous.backends, next.backends),
    });
  }
  return { added, removed, changed };
}

function diffBackends(before: BackendConfig[], after: BackendConfig[]): BackendDiff {
  const previous = new Map(before.map((b) => [backendId(b), b]));
  const next = new Map(after.map((b) => [backendId(b), b]));
  const diff: BackendDiff = { added: [], removed: [], changed: [] };
  for (const [id, backend] of next) {
    const old = previous.get(id);
    if (old === undefined) diff.added.push(backend);
    else if (!same(old, backend)) diff.changed.push(backend);
  }
  for (const id of previous.keys()) if (!next.has(id)) diff.removed.push(id);
  return diff;
}

function diffListeners(before: ListenerConfig[], after: ListenerConfig[]): ListenerDiff {
  const previous = new Map(before.map((l) => [l.name, l]));
  const names = new Set(after.map((l) => l.name));
  const diff: ListenerDiff = { added: [], removed: [], updated: [], replaced: [] };
  for (const listener of after) {
    const old = previous.get(listener.name);
    if (old === undefined) diff.added.push(listener);
    else if (
      old.protocol !== listener.protocol ||
      !same(old.bind, listener.bind) ||
      speaksTls(old) !== speaksTls(listener)
    ) {
      diff.replaced.push(listener);
    } else if (!same(old, listener)) diff.updated.push(listener);
  }
  for (const name of previous.keys()) if (!names.has(name)) diff.removed.push(name);
  return diff;
}

/**
 * An http listener's server is made for plain HTTP or for HTTPS: adding or removing `tls`
 * needs a new one. A renewed certificate, though, is applied in place by `update`.
 */
function speaksTls(listener: ListenerConfig): boolean {
  return listener.protocol === "http" && listener.tls !== undefined;
}

/** Structural equality of two parsed config values (plain data: JSON is exact enough). */
function same(a: unknown, b: unknown): boolean {
  return JSON.stringify(a) === JSON.stringify(b);
}
