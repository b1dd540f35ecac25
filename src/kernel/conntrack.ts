/**
 * The kernel's connection tracking table, read for the NAT services' connection counts and
 * connection lists: /proc/net/nf_conntrack when the kernel has it, else `conntrack -L`.
 * Both print one entry per line with `key=value` fields, the original direction first.
 */
import { spawn } from "node:child_process";
import { readFile } from "node:fs/promises";

/** One tracked connection of a virtual service. */
export interface TrackedConnection {
  transport: string;
  /** The TCP state (ESTABLISHED, TIME_WAIT, ...); UDP has none (empty). */
  state: string;
  /** Seconds until the entry expires. */
  expiresSeconds: number;
  client: string;
  clientPort: number;
  /** Original destination: the VIP and its port. */
  vip: string;
  vipPort: number;
  /** Where the reply comes from: the real server chosen by DNAT. */
  server: string;
  serverPort: number;
}

const STATES = new Set([
  "SYN_SENT",
  "SYN_RECV",
  "ESTABLISHED",
  "FIN_WAIT",
  "CLOSE_WAIT",
  "LAST_ACK",
  "TIME_WAIT",
  "CLOSE",
  "SYN_SENT2",
]);

/** Parses one line of /proc/net/nf_conntrack or `conntrack -L`; undefined for other protocols. */
export function parseConntrackLine(line: string): TrackedConnection | undefined {
  const tokens = line.trim().split(/\s+/);
  const protoIndex = tokens.findIndex((t) => t === "tcp" || t === "udp");
  if (protoIndex === -1) return undefined;
  const transport = tokens[protoIndex];
  // After the protocol name: its number, then the seconds left.
  const expiresSeconds = Number(tokens[protoIndex + 2]);
  let state = "";
  const fields: Record<string, string[]> = {};
  for (const token of tokens.slice(protoIndex + 3)) {
    const eq = token.indexOf("=");
    if (eq === -1) {
      if (STATES.has(token)) state = token;
      continue;
    }
    const name = token.slice(0, eq);
    const values = fields[name] ?? [];
    values.push(token.slice(eq + 1));
    fields[name] = values;
  }
  const [src, replySrc] = fields.src ?? [];
  const [dst] = fields.dst ?? [];
  const [sport, replySport] = fields.sport ?? [];
  const [dport] = fields.dport ?? [];
  if (src === undefined || dst === undefined || replySrc === undefined) return undefined;
  return {
    transport,
    state,
    expiresSeconds: Number.isFinite(expiresSeconds) ? expiresSeconds : 0,
    client: src,
    clientPort: Number(sport),
    vip: dst,
    vipPort: Number(dport),
    server: replySrc,
    serverPort: Number(replySport),
  };
}

function conntrackTool(): Promise<string> {
  return new Promise((resolve, reject) => {
    const child = spawn("conntrack", ["-L", "-o", "extended"], {
      stdio: ["ignore", "pipe", "ignore"],
    });
    let out = "";
    child.stdout.on("data", (chunk) => {
      out += chunk;
    });
    child.on("error", (error) =>
      reject(
        (error as NodeJS.ErrnoException).code === "ENOENT"
          ? new Error("no /proc/net/nf_conntrack and no conntrack tool (Debian package conntrack)")
          : error,
      ),
    );
    child.on("close", () => resolve(out));
  });
}

/**
 * Every tracked TCP/UDP connection of this network namespace; with `mentioning`, only those of
 * lines that contain it (a cheap test before the parse: the table may hold 100000 entries).
 */
export async function readConntrack(mentioning?: string): Promise<TrackedConnection[]> {
  let text: string;
  try {
    text = await readFile("/proc/net/nf_conntrack", "utf8");
  } catch {
    text = await conntrackTool();
  }
  const entries: TrackedConnection[] = [];
  for (const line of text.split("\n")) {
    if (mentioning !== undefined && !line.includes(mentioning)) continue;
    const entry = parseConntrackLine(line);
    if (entry !== undefined) entries.push(entry);
  }
  return entries;
}

/** IPVS's split: a TCP connection is active while ESTABLISHED; others (and UDP) are inactive. */
export function isActive(connection: TrackedConnection): boolean {
  return connection.state === "ESTABLISHED";
}

/** A virtual service's connections to one real server, as `conntrack -D` selects them. */
export interface ServerFlows {
  transport: "tcp" | "udp";
  vip: string;
  vipPort: number;
  server: string;
  serverPort: number;
}

/**
 * Forgets the tracked connections of a virtual service to one real server (IPVS's
 * `expire_nodest_conn`). A client that reuses a source port whose last connection went to a
 * dead server would otherwise match that entry and be DNATed to the dead server again,
 * whatever the dispatch map says now. Resolves with conntrack's exit status (1: none found).
 */
export function forgetServerFlows(flows: ServerFlows): Promise<number> {
  const args = ["-D", "-p", flows.transport, "--orig-dst", flows.vip, "--orig-port-dst"];
  args.push(String(flows.vipPort), "--reply-src", flows.server);
  args.push("--reply-port-src", String(flows.serverPort));
  return new Promise((resolve) => {
    const child = spawn("conntrack", args, { stdio: "ignore" });
    child.on("error", () => resolve(-1));
    child.on("close", (code) => resolve(code ?? -1));
  });
}
