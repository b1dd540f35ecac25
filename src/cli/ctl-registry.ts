/**
 * `ballast ctl` for the registry: `services` (instances, expired ones kept, index, watchers),
 * `instances SERVICE` (each lease with the time it has left; alias `leases`), and `watchers`
 * (who watches what: every event stream's client and how long it has watched).
 */
import { type AdminClient, apiPath } from "../admin/client.js";
import { type ParsedArgs, UsageError } from "./args.js";

interface ServiceRow {
  service: string;
  index: number;
  instances: number;
  expired: number;
  preserving: boolean;
}

interface WatcherRow {
  service: string;
  streams: number;
  polls: number;
  clients?: { address: string; since: number }[];
}

/** GET /api/registry/services. */
export interface ServicesView {
  index: number;
  services: ServiceRow[];
  watchers: WatcherRow[];
}

/** One row of GET /api/registry/services/{service}/leases. */
export interface LeaseView {
  id: string;
  host: string;
  port: number;
  weight: number;
  zone?: string;
  expired: boolean;
  expiresAt: number;
  ttlMs: number;
  registeredAt: number;
  renewals: number;
}

/** `ballast ctl services`. */
export async function servicesCommand(client: AdminClient, args: ParsedArgs): Promise<unknown> {
  if (args.rest.length > 0) throw new UsageError(`unexpected argument "${args.rest[0]}"`);
  const view = await client.get<ServicesView>("/api/registry/services");
  if (!args.flags.json) console.log(formatServicesTable(view));
  return view;
}

/** `ballast ctl instances SERVICE` (and `leases SERVICE`). */
export async function instancesCommand(client: AdminClient, args: ParsedArgs): Promise<unknown> {
  const [service, extra] = args.rest;
  if (service === undefined) throw new UsageError("expected SERVICE");
  if (extra !== undefined) throw new UsageError(`unexpected argument "${extra}"`);
  const leases = await client.get<LeaseView[]>(apiPath("registry", "services", service, "leases"));
  if (!args.flags.json) console.log(formatLeaseTable(service, leases, Date.now()));
  return leases;
}

/** `ballast ctl watchers`. */
export async function watchersCommand(client: AdminClient, args: ParsedArgs): Promise<unknown> {
  if (args.rest.length > 0) throw new UsageError(`unexpected argument "${args.rest[0]}"`);
  const view = await client.get<ServicesView>("/api/registry/services");
  if (!args.flags.json) console.log(formatWatchersTable(view.watchers, Date.now()));
  return view.watchers;
}

/** Services with their counts and watchers, one line each. */
export function formatServicesTable(view: ServicesView): string {
  const watching = new Map(view.watchers.map((w) => [w.service, w]));
  const header = ["Service", "Instances", "Expired", "Index", "Streams", "Polls", "State"];
  const rows = view.services.map((s) => [
    s.service,
    String(s.instances),
    String(s.expired),
    String(s.index),
    String(watching.get(s.service)?.streams ?? 0),
    String(watching.get(s.service)?.polls ?? 0),
    s.preserving ? "PRESERVING (expired instances kept)" : "ok",
  ]);
  const footer =
    view.services.length === 0
      ? "no services registered"
      : `${view.services.length} services, registry index ${view.index}`;
  return [...align([header, ...rows], [0, 6]), footer].join("\n");
}

/** A service's instances and leases, with the time each lease has left. */
export function formatLeaseTable(
  service: string,
  leases: readonly LeaseView[],
  now: number,
): string {
  const header = [
    "Instance",
    "Address",
    "Zone",
    "Weight",
    "TTL",
    "Left",
    "Renewals",
    "Age",
    "State",
  ];
  const rows = leases.map((l) => [
    l.id,
    l.host.includes(":") ? `[${l.host}]:${l.port}` : `${l.host}:${l.port}`,
    l.zone ?? "-",
    String(l.weight),
    formatDuration(l.ttlMs),
    l.expired ? "expired" : formatDuration(l.expiresAt - now),
    String(l.renewals),
    formatDuration(now - l.registeredAt),
    l.expired ? "KEPT (self-preservation)" : "live",
  ]);
  const footer = `${service}: ${leases.length} ${leases.length === 1 ? "instance" : "instances"}`;
  return [...align([header, ...rows], [0, 1, 2, 8]), footer].join("\n");
}

/** Who watches what: a line per event-stream client, and each service's long-polls. */
export function formatWatchersTable(watchers: readonly WatcherRow[], now: number): string {
  const header = ["Service", "Kind", "Client", "Watching for"];
  const rows: string[][] = [];
  for (const w of watchers) {
    for (const c of w.clients ?? []) {
      rows.push([w.service, "stream", c.address, formatDuration(now - c.since)]);
    }
    const unlisted = w.streams - (w.clients?.length ?? 0);
    if (unlisted > 0) rows.push([w.service, "stream", `${unlisted} more`, "-"]);
    if (w.polls > 0) rows.push([w.service, "long-poll", `${w.polls} waiting`, "-"]);
  }
  if (rows.length === 0) return "nobody watches the registry";
  return align([header, ...rows], [0, 1, 2]).join("\n");
}

/** ms as "850ms", "12.5s", "3m05s" or "2h10m". */
export function formatDuration(ms: number): string {
  if (ms < 0) return "0s";
  if (ms < 1000) return `${Math.round(ms)}ms`;
  if (ms < 60_000) return `${(ms / 1000).toFixed(1)}s`;
  const seconds = Math.floor(ms / 1000);
  if (seconds < 3600)
    return `${Math.floor(seconds / 60)}m${String(seconds % 60).padStart(2, "0")}s`;
  return `${Math.floor(seconds / 3600)}h${String(Math.floor(seconds / 60) % 60).padStart(2, "0")}m`;
}

function align(rows: string[][], leftAligned: readonly number[]): string[] {
  const widths: number[] = [];
  for (const row of rows) {
    for (let i = 0; i < row.length; i++) widths[i] = Math.max(widths[i] ?? 0, row[i].length);
  }
  return rows.map((row) =>
    row
      .map((cell, i) =>
        leftAligned.includes(i) ? cell.padEnd(widths[i]) : cell.padStart(widths[i]),
      )
      .join("  ")
      .trimEnd(),
  );
}
