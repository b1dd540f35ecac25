/**
 * `ballast ctl`: the admin API from the terminal. `list` prints pools and backends in the
 * spirit of `ipvsadm -L -n`, `connections` the L4 connection table as `ipvsadm -L -c -n`;
 * add, remove, weight, drain, enable, disable and reload mirror `ipvsadm -a/-d/-e`.
 * `--json` prints the API's answer as is, for scripts.
 */
import { readFile } from "node:fs/promises";
import type { CacheZoneView } from "../admin/caches.js";
import { AdminClient, AdminRequestError, AdminUnreachableError, apiPath } from "../admin/client.js";
import type { VirtualServiceView } from "../net/listener.js";
import { type ParsedArgs, parseArgs, UsageError } from "./args.js";
import { instancesCommand, servicesCommand, watchersCommand } from "./ctl-registry.js";

/** Exit statuses: 0 done, 1 refused by the API, 2 wrong usage, 3 admin API unreachable. */
export const CTL_EXIT = { ok: 0, refused: 1, usage: 2, unreachable: 3 } as const;

const DEFAULT_ADMIN = "http://127.0.0.1:9090";

const FLAGS = {
  admin: { short: "a" },
  token: { short: "t" },
  json: { boolean: true },
  weight: { short: "w" },
  name: {},
  backup: { boolean: true },
  now: { boolean: true },
  file: { short: "f" },
  ttl: {},
  limit: {},
  url: {},
  tag: {},
  zone: {},
  all: { boolean: true },
  help: { short: "h", boolean: true },
};

const USAGE = `usage: ballast ctl [--admin URL] [--token TOKEN] [--json] COMMAND
commands:
  list [POOL]                          pools and backends with counters (ipvsadm -L -n)
  listeners                            listeners with their addresses and counters
  connections [LISTENER] [--limit N]   open tcp connections and udp sessions (ipvsadm -L -c -n);
                                       alias conns
  persistence [LISTENER] [--limit N]   persistence bindings, client to backend
                                       (ipvsadm -L --persistent-conn)
  dns                                  dns zones and what each name answers now, per region
  add POOL HOST:PORT [-w N] [--name NAME] [--backup]   add a backend (ipvsadm -a)
  remove POOL BACKEND [--now]          drain, then remove a backend (ipvsadm -d)
  weight POOL BACKEND N                set a weight; 0 quiesces (ipvsadm -e -w)
  drain POOL BACKEND                   take no new work, keep what is in flight
  enable POOL BACKEND | disable POOL BACKEND
  register POOL HOST:PORT --ttl 10s [--name NAME] [-w N]   heartbeat lease
                                       (kept by the registry's service pool:POOL)
  renew POOL BACKEND                   renew a heartbeat lease
  services                             registry services: instances, expired, index, watchers
  instances SERVICE                    a service's instances and the time their leases have
                                       left; alias leases
  watchers                             who watches what: event-stream clients, long-polls
  reload [-f FILE]                     reload the server's config file (or send FILE)
  config                               show the running config
  status                               uptime, config file, reloads
  cache                                HTTP cache zones: size, entries, hit ratio, counters
  cache purge (--url URL | --tag TAG | --all) [--zone ZONE]
                                       remove stored responses by URL, purge tag or all
The admin URL and token default to $BALLAST_ADMIN and $BALLAST_ADMIN_TOKEN
(else ${DEFAULT_ADMIN}).`;

type Command = (client: AdminClient, args: ParsedArgs) => Promise<unknown>;

/** Runs `ballast ctl <args>`; returns the process exit code. */
export async function runCtl(args: string[]): Promise<number> {
  let parsed: ParsedArgs;
  try {
    parsed = parseArgs(args, FLAGS);
  } catch (error) {
    if (!(error instanceof UsageError)) throw error;
    console.error(`ballast ctl: ${error.message}\n${USAGE}`);
    return CTL_EXIT.usage;
  }
  const [name, ...rest] = parsed.rest;
  if (parsed.flags.help || name === undefined || name === "help") {
    (name === undefined && !parsed.flags.help ? console.error : console.log)(USAGE);
    return name === undefined && !parsed.flags.help ? CTL_EXIT.usage : CTL_EXIT.ok;
  }
  // Own keys only: "constructor" or "toString" would be found on the prototype.
  const command = Object.hasOwn(commands, name) ? commands[name] : undefined;
  if (command === undefined) {
    console.error(`ballast ctl: unknown command "${name}"\n${USAGE}`);
    return CTL_EXIT.usage;
  }
  try {
    const client = new AdminClient({
      url: flag(parsed, "admin") || process.env.BALLAST_ADMIN || DEFAULT_ADMIN,
      token: flag(parsed, "token") ?? process.env.BALLAST_ADMIN_TOKEN,
    });
    const output = await command(client, { ...parsed, rest });
    if (parsed.flags.json) console.log(JSON.stringify(output, null, 2));
    return CTL_EXIT.ok;
  } catch (error) {
    return reportError(error, parsed.flags.json === true);
  }
}

const commands: Record<string, Command> = {
  services: servicesCommand,
  instances: instancesCommand,
  leases: instancesCommand,
  watchers: watchersCommand,
  async cache(client, args) {
    const [sub] = args.rest;
    if (sub === undefined || sub === "list") {
      const zones = await client.get<CacheZoneView[]>("/api/caches");
      if (!args.flags.json) console.log(formatCacheTable(zones));
      return zones;
    }
    if (sub !== "purge") throw new UsageError(`unknown cache command "${sub}"; use purge`);
    const body: Record<string, unknown> = {};
    for (const name of ["url", "tag", "zone"] as const) {
      const value = flag(args, name);
      if (value !== undefined) body[name] = value;
    }
    if (args.flags.all) body.all = true;
    if ([body.url, body.tag, body.all].filter((v) => v !== undefined).length !== 1) {
      throw new UsageError("cache purge needs one of --url URL, --tag TAG or --all");
    }
    const answer = await client.request<{ purged: Record<string, number> }>(
      "POST",
      "/api/caches/purge",
      body,
    );
    const lines = Object.entries(answer.purged).map(([zone, n]) => `${zone}: ${n} purged`);
    say(args, lines.length > 0 ? lines.join("\n") : "no cache zones");
    return answer;
  },
  async list(client, args) {
    const [pool] = args.rest;
    const pools = pool
      ? [await client.get<PoolView>(apiPath("pools", pool))]
      : await client.get<PoolView[]>("/api/pools");
    if (args.flags.json) return pools;
    console.log(formatPoolTable(pools));
    // Kernel virtual services, when there are any, as ipvsadm -L -n shows them.
    const services = await client.get<VirtualServiceView[]>("/api/kernel");
    if (services.length > 0) console.log(`\n${formatVirtualServices(services)}`);
    return pools;
  },
  async listeners(client, args) {
    const listeners = await client.get<ListenerView[]>("/api/listeners");
    if (!args.flags.json) console.log(formatListenerTable(listeners));
    return listeners;
  },
  async connections(client, args) {
    const views = await fetchTables(client, args, "connections");
    if (!args.flags.json) console.log(formatConnectionTable(views));
    return views;
  },
  conns: (client, args) => commands.connections(client, args),
  async persistence(client, args) {
    const views = await fetchTables(client, args, "persistence");
    if (!args.flags.json) console.log(formatPersistenceTable(views));
    return views;
  },
  async dns(client, args) {
    const views = await client.get<DnsView[]>("/api/dns");
    if (!args.flags.json) console.log(formatDnsTable(views));
    return views;
  },
  async add(client, args) {
    const [pool, address] = positional(args, ["POOL", "HOST:PORT"]);
    const body: Record<string, unknown> = { address };
    const weight = flag(args, "weight");
    if (weight !== undefined) body.weight = integer(weight, "--weight");
    const name = flag(args, "name");
    if (name !== undefined) body.name = name;
    if (args.flags.backup) body.backup = true;
    const backend = await client.request<BackendView>(
      "POST",
      apiPath("pools", pool, "backends"),
      body,
    );
    say(args, `added ${backend.id} (${backend.address}) to pool ${pool}, weight ${backend.weight}`);
    return backend;
  },
  async remove(client, args) {
    const [pool, id] = positional(args, ["POOL", "BACKEND"]);
    const query = args.flags.now ? "?now=1" : "";
    const answer = await client.request<{ draining?: boolean }>(
      "DELETE",
      `${apiPath("pools", pool, "backends", id)}${query}`,
    );
    say(
      args,
      answer.draining
        ? `${id} is draining; it leaves pool ${pool} when its last request ends`
        : `removed ${id} from pool ${pool}`,
    );
    return answer;
  },
  async weight(client, args) {
    const [pool, id, value] = positional(args, ["POOL", "BACKEND", "WEIGHT"]);
    const weight = integer(value, "WEIGHT");
    const backend = await client.request<BackendView>(
      "PUT",
      apiPath("pools", pool, "backends", id, "weight"),
      { weight },
    );
    say(args, `${id} in pool ${pool}: weight ${backend.weight}`);
    return backend;
  },
  drain: (client, args) => action(client, args, "drain", "draining"),
  enable: (client, args) => action(client, args, "enable", "enabled"),
  disable: (client, args) => action(client, args, "disable", "disabled"),
  async register(client, args) {
    const [pool, address] = positional(args, ["POOL", "HOST:PORT"]);
    const ttl = flag(args, "ttl");
    if (ttl === undefined) throw new UsageError("register needs --ttl, for example --ttl 10s");
    const body: Record<string, unknown> = { address, ttl: /^\d+$/.test(ttl) ? Number(ttl) : ttl };
    const name = flag(args, "name");
    if (name !== undefined) body.name = name;
    const weight = flag(args, "weight");
    if (weight !== undefined) body.weight = integer(weight, "--weight");
    const lease = await client.request<{ id: string; expiresAt: number }>(
      "POST",
      apiPath("pools", pool, "heartbeats"),
      body,
    );
    say(
      args,
      `registered ${lease.id} in pool ${pool} until ${new Date(lease.expiresAt).toISOString()}`,
    );
    return lease;
  },
  async renew(client, args) {
    const [pool, id] = positional(args, ["POOL", "BACKEND"]);
    const lease = await client.request<{ expiresAt: number }>(
      "POST",
      apiPath("pools", pool, "heartbeats", id, "renew"),
    );
    say(args, `renewed ${id} in pool ${pool} until ${new Date(lease.expiresAt).toISOString()}`);
    return lease;
  },
  async reload(client, args) {
    const file = flag(args, "file");
    const body = file === undefined ? undefined : await readConfigFile(file);
    // The file's name goes along, so the server's errors name it rather than the body.
    const path =
      file === undefined ? "/api/reload" : `/api/reload?source=${encodeURIComponent(file)}`;
    const answer = await client.request<{ changed: boolean; summary: Record<string, unknown> }>(
      "POST",
      path,
      body,
    );
    if (!args.flags.json) {
      console.log(answer.changed ? "reloaded" : "reloaded: nothing changed");
      for (const [key, value] of Object.entries(answer.summary)) {
        if (Array.isArray(value) && value.length > 0) console.log(`  ${key}: ${value.join(", ")}`);
      }
    }
    return answer;
  },
  async config(client, args) {
    const config = await client.get("/api/config");
    if (!args.flags.json) console.log(JSON.stringify(config, null, 2));
    return config;
  },
  async status(client, args) {
    const status = await client.get<Record<string, unknown>>("/api/status");
    if (!args.flags.json) {
      for (const [key, value] of Object.entries(status)) console.log(`${key}: ${value}`);
    }
    return status;
  },
};

interface BackendView {
  id: string;
  address: string;
  weight: number;
  effectiveWeight: number;
  active: number;
  inactive: number;
  health: string;
  enabled: boolean;
  draining: boolean;
  backup: boolean;
  requests: number;
  failures: number;
  requestsPerSecond: number;
}

interface PoolView {
  name: string;
  algorithm: string;
  backends: BackendView[];
}

interface ListenerView {
  name: string;
  protocol: string;
  address: string;
  stats: Record<string, number>;
}

/** One listener's connection or persistence table as the API answers it. */
interface TableView {
  listener: string;
  protocol: string;
  pool: string | null;
  total: number;
  truncated: boolean;
  rows: TableRow[];
}

/** The fields of a tcp connection, udp session or persistence binding the tables show. */
interface TableRow {
  client: string;
  backend?: string;
  backendAddress: string | null;
  state?: string;
  ageMs?: number;
  idleMs?: number;
  bytesIn?: number;
  bytesOut?: number;
  connections?: number;
  expiresInMs?: number;
  /** A persistence binding another worker made (`workers: N`). */
  learned?: boolean;
}

/** GETs one listener's table, or every listener's, as a list either way. */
async function fetchTables(
  client: AdminClient,
  args: ParsedArgs,
  kind: "connections" | "persistence",
): Promise<TableView[]> {
  if (args.rest.length > 1) throw new UsageError(`unexpected argument "${args.rest[1]}"`);
  const [listener] = args.rest;
  const limit = flag(args, "limit");
  const query = limit === undefined ? "" : `?limit=${integer(limit, "--limit")}`;
  return listener === undefined
    ? client.get<TableView[]>(`/api/${kind}${query}`)
    : [await client.get<TableView>(`${apiPath("listeners", listener, kind)}${query}`)];
}

/**
 * The `ipvsadm -L -c -n`-like table: one line per tcp connection or udp session, with the
 * listener, its state, age (as ipvsadm's mm:ss), client, backend and bytes each way.
 */
export function formatConnectionTable(views: readonly TableView[]): string {
  const header = [
    "Pro",
    "Listener",
    "State",
    "Age",
    "Idle",
    "Client",
    "Backend",
    "BytesIn",
    "BytesOut",
  ];
  // Kernel listeners' rows come from conntrack: no age, but the seconds left (ipvsadm's expire).
  const expires = views.some((view) => view.rows.some((row) => row.expiresInMs !== undefined));
  if (expires) header.push("Expire");
  const rows: string[][] = [];
  for (const view of views) {
    for (const row of view.rows) {
      rows.push([
        view.protocol.toUpperCase(),
        view.listener,
        // udp has no handshake or close; a session lives until it has been idle too long.
        row.state?.toUpperCase() ?? "SESSION",
        row.ageMs === undefined && row.expiresInMs !== undefined ? "-" : formatAge(row.ageMs ?? 0),
        row.idleMs === undefined ? "-" : formatAge(row.idleMs),
        row.client,
        backendOf(row),
        String(row.bytesIn ?? 0),
        String(row.bytesOut ?? 0),
        ...(expires ? [row.expiresInMs === undefined ? "-" : formatAge(row.expiresInMs)] : []),
      ]);
    }
  }
  return [...alignColumns([header, ...rows], [0, 1, 2, 5, 6]), ...footer(views, "connection")].join(
    "\n",
  );
}

/**
 * The `ipvsadm -L --persistent-conn`-like table: one line per client bound to a backend. With
 * `workers: N` every worker holds a copy of each binding; a copy another worker made is shown
 * only while connections through this worker hold it, and the footer counts the rest.
 */
export function formatPersistenceTable(views: readonly TableView[]): string {
  const header = ["Pro", "Listener", "Pool", "Client", "Backend", "Conns", "Expires"];
  const rows: string[][] = [];
  let copies = 0;
  for (const view of views) {
    for (const row of view.rows) {
      if (row.learned && (row.connections ?? 0) === 0) {
        copies++;
        continue;
      }
      const expires = row.expiresInMs ?? 0;
      rows.push([
        view.protocol.toUpperCase(),
        view.listener,
        view.pool ?? "-",
        row.client,
        backendOf(row),
        String(row.connections ?? 0),
        // While the client still has connections the binding does not count down.
        expires < 0 ? "in use" : formatAge(expires),
      ]);
    }
  }
  const shared =
    copies > 0
      ? [
          `${copies} idle ${copies === 1 ? "copy" : "copies"} of bindings other workers made, not shown`,
        ]
      : [];
  return [
    ...alignColumns([header, ...rows], [0, 1, 2, 3, 4]),
    ...footer(views, "binding"),
    ...shared,
  ].join("\n");
}

/** "web-1 (127.0.0.1:8081)", or the address alone when the id is the address. */
function backendOf(row: TableRow): string {
  const id = row.backend ?? "-";
  const address = row.backendAddress;
  return address === null || address === id ? id : `${id} (${address})`;
}

/** One summary line per listener, saying when the limit left rows out. */
function footer(views: readonly TableView[], what: string): string[] {
  if (views.length === 0) return [`no listener keeps a ${what} table`];
  return views.map((view) => {
    const count = `${view.total} ${view.total === 1 ? what : `${what}s`}`;
    return view.truncated
      ? `${view.listener}: ${view.rows.length} of ${count} shown (raise --limit)`
      : `${view.listener}: ${count}`;
  });
}

/** ms as ipvsadm's expire column: mm:ss, or h:mm:ss from an hour on. */
function formatAge(ms: number): string {
  const seconds = Math.floor(ms / 1000);
  const hours = Math.floor(seconds / 3600);
  const mmss = `${pad2(Math.floor(seconds / 60) % 60)}:${pad2(seconds % 60)}`;
  return hours > 0 ? `${hours}:${mmss}` : mmss;
}

function pad2(value: number): string {
  return value < 10 ? `0${value}` : String(value);
}

async function action(
  client: AdminClient,
  args: ParsedArgs,
  verb: string,
  done: string,
): Promise<BackendView> {
  const [pool, id] = positional(args, ["POOL", "BACKEND"]);
  const backend = await client.request<BackendView>(
    "POST",
    apiPath("pools", pool, "backends", id, verb),
  );
  say(args, `${id} in pool ${pool}: ${done}`);
  return backend;
}

/** One line per cache zone: size, entries, hit ratio and the main counters. */
function formatCacheTable(zones: readonly CacheZoneView[]): string {
  if (zones.length === 0) return "no cache zones";
  const rows = zones.map((z) => [
    z.name,
    String(z.bytes),
    String(z.entries),
    `${(z.hitRatio * 100).toFixed(1)}%`,
    String(z.counters.hits),
    String(z.counters.stale),
    String(z.counters.misses),
    String(z.counters.evictions),
  ]);
  const header = ["Zone", "Bytes", "Entries", "HitRatio", "Hits", "Stale", "Misses", "Evictions"];
  return alignColumns([header, ...rows], [0]).join("\n");
}

/** ipvsadm -L -n: a line per virtual service, a `->` line per real server with its conntrack counts. */
export function formatVirtualServices(services: readonly VirtualServiceView[]): string {
  const lines = [
    "IP Virtual Server (kernel listeners)",
    "Prot LocalAddress:Port Scheduler Flags",
    "  -> RemoteAddress:Port           Forward Weight ActiveConn InActConn",
  ];
  for (const service of services) {
    const flags = service.persistenceSeconds > 0 ? ` persistent ${service.persistenceSeconds}` : "";
    lines.push(
      `${service.transport.toUpperCase()}  ${service.address} ${service.scheduler}${flags}`,
    );
    for (const server of service.servers) {
      lines.push(
        `  -> ${server.address.padEnd(28)}${server.forward.padEnd(8)}${String(server.weight).padEnd(7)}${String(server.active).padEnd(11)}${server.inactive}`,
      );
    }
  }
  return lines.join("\n");
}

/** The `ipvsadm -L -n`-like table: one header per pool, one `->` line per backend. */
export function formatPoolTable(pools: readonly PoolView[]): string {
  const header = [
    "  -> Backend",
    "Address",
    "Weight",
    "ActiveConn",
    "InActConn",
    "Health",
    "State",
    "Req/s",
    "Requests",
    "Failures",
  ];
  const lines: string[] = [];
  for (const pool of pools) {
    lines.push(`Pool ${pool.name} ${pool.algorithm}`);
    const rows = pool.backends.map((b) => [
      `  -> ${b.id}`,
      b.address,
      formatWeight(b),
      String(b.active),
      String(b.inactive),
      b.health,
      stateOf(b),
      b.requestsPerSecond.toFixed(1),
      String(b.requests),
      String(b.failures),
    ]);
    lines.push(...alignColumns([header, ...rows], [0, 1, 5, 6]));
  }
  return pools.length === 0 ? "no pools" : lines.join("\n");
}

function formatListenerTable(listeners: readonly ListenerView[]): string {
  const rows = listeners.map((l) => [
    l.name,
    l.protocol,
    l.address,
    Object.entries(l.stats)
      .map(([k, v]) => `${k}=${v}`)
      .join(" "),
  ]);
  return alignColumns([["Listener", "Protocol", "Address", "Stats"], ...rows], [0, 1, 2, 3]).join(
    "\n",
  );
}

/** One dns listener as `/api/dns` answers it. */
interface DnsView {
  listener: string;
  zones: Array<{
    zone: string;
    serial: number;
    records: Array<{
      name: string;
      type: string;
      ttl: number;
      values?: unknown[];
      answers?: Record<string, { kind: string; hosts?: string[]; target?: string; pool?: string }>;
    }>;
  }>;
}

/** One row per record set, or per region of a pool-backed one, as `dig +short` would show it. */
function formatDnsTable(views: readonly DnsView[]): string {
  const rows: string[][] = [["Listener", "Zone", "Name", "Type", "TTL", "Region", "Answer"]];
  for (const view of views) {
    for (const zone of view.zones) {
      for (const record of zone.records) {
        const head = [view.listener, zone.zone, record.name, record.type, String(record.ttl)];
        if (record.values !== undefined) {
          rows.push([...head, "*", record.values.map(formatValue).join(" ")]);
          continue;
        }
        for (const [region, answer] of Object.entries(record.answers ?? {})) {
          const text =
            answer.kind === "addresses"
              ? `${(answer.hosts ?? []).join(" ") || "(none)"}${answer.pool ? ` [${answer.pool}]` : ""}`
              : answer.kind === "cname"
                ? `CNAME ${answer.target}`
                : "SERVFAIL";
          rows.push([...head, region, text]);
        }
      }
    }
  }
  return alignColumns(rows, [0, 1, 2, 3, 5, 6]).join("\n");
}

function formatValue(value: unknown): string {
  if (typeof value === "string") return value;
  if (Array.isArray(value)) return value.map((part) => JSON.stringify(String(part))).join(" ");
  return Object.values(value as object).join(" ");
}

/** "3" or "3 (1.5)" when slow start or dynamic weights make the effective weight differ. */
function formatWeight(backend: BackendView): string {
  const effective = Math.round(backend.effectiveWeight * 100) / 100;
  return effective === backend.weight ? String(backend.weight) : `${backend.weight} (${effective})`;
}

function stateOf(backend: BackendView): string {
  const state = !backend.enabled ? "disabled" : backend.draining ? "draining" : "active";
  return backend.backup ? `${state},backup` : state;
}

/** Pads cells to column width: text columns (`leftAligned`) left, numbers right, as ipvsadm. */
function alignColumns(rows: string[][], leftAligned: readonly number[]): string[] {
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

function positional(args: ParsedArgs, names: string[]): string[] {
  if (args.rest.length < names.length) {
    throw new UsageError(
      `expected ${names.join(" ")}; missing ${names.slice(args.rest.length).join(" ")}`,
    );
  }
  if (args.rest.length > names.length) {
    throw new UsageError(
      `unexpected argument "${args.rest[names.length]}" after ${names.join(" ")}`,
    );
  }
  return args.rest;
}

function flag(args: ParsedArgs, name: string): string | undefined {
  const value = args.flags[name];
  return typeof value === "string" ? value : undefined;
}

function integer(text: string, what: string): number {
  if (!/^\d+$/.test(text)) throw new UsageError(`${what} must be a whole number, got "${text}"`);
  return Number(text);
}

function say(args: ParsedArgs, line: string): void {
  if (!args.flags.json) console.log(line);
}

/** A local file ctl was asked to send could not be read. */
class LocalFileError extends Error {}

/** Reads the config that `reload -f` sends; a missing or unreadable file is one clear line. */
async function readConfigFile(file: string): Promise<string> {
  try {
    return await readFile(file, "utf8");
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    const reason =
      code === "ENOENT"
        ? "no such file"
        : code === "EACCES"
          ? "permission denied"
          : code === "EISDIR"
            ? "it is a directory"
            : (error as Error).message;
    throw new LocalFileError(`cannot read ${file}: ${reason}`);
  }
}

function reportError(error: unknown, json: boolean): number {
  if (error instanceof LocalFileError) {
    console.error(`ballast ctl: ${error.message}`);
    return CTL_EXIT.refused;
  }
  if (error instanceof UsageError) {
    console.error(`ballast ctl: ${error.message}`);
    return CTL_EXIT.usage;
  }
  if (error instanceof AdminUnreachableError) {
    console.error(`ballast ctl: ${error.message}`);
    return CTL_EXIT.unreachable;
  }
  if (error instanceof AdminRequestError) {
    if (json) console.log(JSON.stringify({ status: error.status, ...error.body }, null, 2));
    else {
      console.error(`ballast ctl: ${error.message} (HTTP ${error.status})`);
      const errors = error.body.errors;
      if (Array.isArray(errors)) for (const line of errors) console.error(`  ${line}`);
    }
    return CTL_EXIT.refused;
  }
  throw error;
}
