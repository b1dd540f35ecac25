/**
 * `ballast ctl`: the admin API from the terminal. `list` prints pools and backends in the
 * spirit of `ipvsadm -L -n`; add, remove, weight, drain, enable, disable and reload mirror
 * `ipvsadm -a/-d/-e`. `--json` prints the API's answer as is, for scripts.
 */
import { readFile } from "node:fs/promises";
import { AdminClient, AdminRequestError, AdminUnreachableError, apiPath } from "../admin/client.js";
import { type ParsedArgs, parseArgs, UsageError } from "./args.js";

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
  help: { short: "h", boolean: true },
};

const USAGE = `usage: ballast ctl [--admin URL] [--token TOKEN] [--json] COMMAND
commands:
  list [POOL]                          pools and backends with counters (ipvsadm -L -n)
  listeners                            listeners with their addresses and counters
  add POOL HOST:PORT [-w N] [--name NAME] [--backup]   add a backend (ipvsadm -a)
  remove POOL BACKEND [--now]          drain, then remove a backend (ipvsadm -d)
  weight POOL BACKEND N                set a weight; 0 quiesces (ipvsadm -e -w)
  drain POOL BACKEND                   take no new work, keep what is in flight
  enable POOL BACKEND | disable POOL BACKEND
  register POOL HOST:PORT --ttl 10s [--name NAME] [-w N]   heartbeat lease
  renew POOL BACKEND                   renew a heartbeat lease
  reload [-f FILE]                     reload the server's config file (or send FILE)
  config                               show the running config
  status                               uptime, config file, reloads
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
  const command = commands[name];
  if (command === undefined) {
    console.error(`ballast ctl: unknown command "${name}"\n${USAGE}`);
    return CTL_EXIT.usage;
  }
  const client = new AdminClient({
    url: flag(parsed, "admin") ?? process.env.BALLAST_ADMIN ?? DEFAULT_ADMIN,
    token: flag(parsed, "token") ?? process.env.BALLAST_ADMIN_TOKEN,
  });
  try {
    const output = await command(client, { ...parsed, rest });
    if (parsed.flags.json) console.log(JSON.stringify(output, null, 2));
    return CTL_EXIT.ok;
  } catch (error) {
    return reportError(error, parsed.flags.json === true);
  }
}

const commands: Record<string, Command> = {
  async list(client, args) {
    const [pool] = args.rest;
    const pools = pool
      ? [await client.get<PoolView>(apiPath("pools", pool))]
      : await client.get<PoolView[]>("/api/pools");
    if (!args.flags.json) console.log(formatPoolTable(pools));
    return pools;
  },
  async listeners(client, args) {
    const listeners = await client.get<ListenerView[]>("/api/listeners");
    if (!args.flags.json) console.log(formatListenerTable(listeners));
    return listeners;
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
    const body = file === undefined ? undefined : await readFile(file, "utf8");
    const answer = await client.request<{ changed: boolean; summary: Record<string, unknown> }>(
      "POST",
      "/api/reload",
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

function reportError(error: unknown, json: boolean): number {
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
