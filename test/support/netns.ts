/**
 * Network namespaces for tests of the kernel data plane and the director's failover: a lab of
 * namespaces joined by veth pairs and a bridge, commands run inside them, real nginx servers in
 * them, and a cleanup that removes everything the lab made, also when the test failed.
 *
 * Everything a lab makes lives inside its own namespaces (the bridge too, in a "switch"
 * namespace), so the host's own namespace is never changed, and deleting the namespaces
 * removes every veth, bridge, address, route and nftables ruleset with them. Namespace names
 * carry the pid of the test process (`blb<pid>-<name>`): `sweepLeftoverNamespaces` removes
 * those whose process is gone (a crashed run) and leaves the labs of live runs alone.
 */
import { spawn } from "node:child_process";
import { mkdirSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { setTimeout as sleep } from "node:timers/promises";
import { type Daemon, type Finished, run, startDaemon } from "./daemon.js";
import { requireProgram } from "./programs.js";
import { tempDir } from "./temp-dir.js";
import { waitFor } from "./wait.js";

/** Every namespace a lab makes starts with this, followed by the pid of its test process. */
export const NETNS_PREFIX = "blb";

/** One namespace of a lab. */
export interface Namespace {
  /** The full name, as `ip netns` knows it. */
  readonly name: string;
  /** Runs a program (an absolute path, from requireProgram) in the namespace; throws when it fails. */
  exec(program: string, args: string[], limitMs?: number): Promise<Finished>;
  /** Runs `ip` with `args` in the namespace; throws when it fails. */
  ip(...args: string[]): Promise<Finished>;
  /** Sets a sysctl (`net.ipv4.ip_forward`, ...) in the namespace. */
  sysctl(key: string, value: string | number): Promise<void>;
  /** Starts a long-running program in the namespace; the lab stops it at cleanup. */
  daemon(program: string, args: string[]): Daemon;
}

/** One end of a veth pair: its namespace, interface name and optional address (CIDR). */
export interface VethEnd {
  ns: Namespace;
  ifname: string;
  address?: string;
}

/** An nginx started in a namespace by `startNginxIn`. */
export interface NamespacedNginx {
  ns: Namespace;
  dir: string;
  daemon: Daemon;
  stop(): Promise<void>;
}

/** What `startNginxIn` serves. */
export interface NginxOptions {
  /** `listen` arguments; default `["80"]` (every address of the namespace, VIPs included). */
  listen?: string[];
  /** The body of `GET /` (a newline is added), so a test can tell the real servers apart. */
  body: string;
  /** Files to create in the document root and serve as `/<name>`, with their sizes in bytes. */
  files?: Record<string, number>;
}

const LAB_LIMIT_MS = 20_000;

function describeFailure(argv: string[], result: Finished): string {
  return `${argv.join(" ")} failed (${result.code}): ${result.stderr.trim() || result.stdout.trim()}`;
}

/** Runs `program` and throws with its stderr when it exits non-zero. */
async function must(program: string, args: string[], limitMs = LAB_LIMIT_MS): Promise<Finished> {
  const result = await run(program, args, limitMs);
  if (result.code !== 0) throw new Error(describeFailure([program, ...args], result));
  return result;
}

/** The names of every namespace on the host. */
export async function listNamespaces(): Promise<string[]> {
  const result = await must(requireProgram("ip"), ["netns", "list"]);
  return result.stdout
    .split("\n")
    .map((line) => line.split(" ")[0] ?? "")
    .filter((name) => name !== "");
}

/** Kills every process still inside `name`, then deletes it (its links and rulesets go with it). */
async function deleteNamespace(name: string): Promise<void> {
  const ip = requireProgram("ip");
  for (let attempt = 0; attempt < 20; attempt++) {
    const pids = (await run(ip, ["netns", "pids", name], 5000)).stdout
      .split("\n")
      .map((line) => Number(line.trim()))
      .filter((pid) => pid > 0);
    if (pids.length === 0) break;
    for (const pid of pids) {
      try {
        process.kill(pid, attempt < 5 ? "SIGTERM" : "SIGKILL");
      } catch {
        // already gone
      }
    }
    await sleep(50);
  }
  const result = await run(ip, ["netns", "delete", name], 10_000);
  if (result.code !== 0 && !/No such file/.test(result.stderr)) {
    throw new Error(describeFailure(["ip", "netns", "delete", name], result));
  }
}

function processAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === "EPERM";
  }
}

/**
 * Removes the namespaces left by test runs that crashed: those named `<prefix><pid>-...` whose
 * pid is no longer a running process. Returns the names removed.
 */
export async function sweepLeftoverNamespaces(prefix = NETNS_PREFIX): Promise<string[]> {
  const pattern = new RegExp(`^${prefix}(\\d+)-`);
  const removed: string[] = [];
  for (const name of await listNamespaces()) {
    const match = pattern.exec(name);
    if (match === null) continue;
    const pid = Number(match[1]);
    if (pid === process.pid || processAlive(pid)) continue;
    await deleteNamespace(name);
    removed.push(name);
  }
  return removed;
}

let labCounter = 0;

/**
 * A set of namespaces made for one test; `cleanup` stops what runs in them and deletes them.
 * Call `cleanup` from `after()` (or a `finally`): it also runs when the test failed half-way.
 */
export class NetnsLab {
  /** The prefix of every namespace of this lab: `blb<pid>-<n>`. */
  readonly prefix: string;
  private readonly namespaces: string[] = [];
  private readonly daemons: Daemon[] = [];
  private readonly dirs: { cleanup(): void }[] = [];

  private constructor(prefix: string) {
    this.prefix = prefix;
  }

  /** A new lab; first sweeps the namespaces of crashed runs. Requires root. */
  static async create(): Promise<NetnsLab> {
    if (process.getuid?.() !== 0) throw new Error("network namespace tests need root");
    requireProgram("ip");
    await sweepLeftoverNamespaces();
    labCounter += 1;
    return new NetnsLab(`${NETNS_PREFIX}${process.pid}-${labCounter}`);
  }

  /** Creates the namespace `<prefix>-<short>` with its loopback up. */
  async namespace(short: string): Promise<Namespace> {
    const ip = requireProgram("ip");
    const name = `${this.prefix}-${short}`;
    await must(ip, ["netns", "add", name]);
    this.namespaces.push(name);
    const ns = this.handle(name);
    await ns.ip("link", "set", "lo", "up");
    return ns;
  }

  private handle(name: string): Namespace {
    const ip = requireProgram("ip");
    const exec = (program: string, args: string[], limitMs?: number) =>
      must(ip, ["netns", "exec", name, program, ...args], limitMs);
    return {
      name,
      exec,
      ip: (...args: string[]) => must(ip, ["-n", name, ...args]),
      sysctl: async (key, value) => {
        await exec(requireProgram("sysctl"), ["-qw", `${key}=${value}`]);
      },
      daemon: (program, args) => {
        const daemon = startDaemon(ip, ["netns", "exec", name, program, ...args]);
        this.daemons.push(daemon);
        return daemon;
      },
    };
  }

  /** A veth pair between two namespaces, both ends up, with their addresses if given. */
  async veth(a: VethEnd, b: VethEnd): Promise<void> {
    await a.ns.ip(
      "link",
      "add",
      a.ifname,
      "type",
      "veth",
      "peer",
      "name",
      b.ifname,
      "netns",
      b.ns.name,
    );
    for (const end of [a, b]) {
      if (end.address !== undefined) await end.ns.ip("addr", "add", end.address, "dev", end.ifname);
      await end.ns.ip("link", "set", end.ifname, "up");
    }
  }

  /** A bridge named `ifname` in `ns`, up. */
  async bridge(ns: Namespace, ifname: string): Promise<void> {
    await ns.ip("link", "add", ifname, "type", "bridge");
    await ns.ip("link", "set", ifname, "up");
  }

  /**
   * Joins `end` to the bridge `bridge` in `switchNs` by a veth pair; the bridge's side is
   * named `port` (at most 15 characters).
   */
  async attach(switchNs: Namespace, bridge: string, port: string, end: VethEnd): Promise<void> {
    await this.veth({ ns: switchNs, ifname: port }, end);
    await switchNs.ip("link", "set", port, "master", bridge);
  }

  /**
   * Starts nginx in `ns`, serving `body` on `GET /` and the `files` by name. Waits until it
   * listens on every `listen` port.
   */
  async startNginxIn(ns: Namespace, options: NginxOptions): Promise<NamespacedNginx> {
    const nginx = requireProgram("nginx");
    const dir = tempDir("netns-nginx");
    this.dirs.push(dir);
    const root = join(dir.path, "root");
    const temp = join(dir.path, "tmp");
    mkdirSync(root);
    mkdirSync(temp);
    for (const [name, size] of Object.entries(options.files ?? {})) {
      writeFileSync(join(root, name), Buffer.alloc(size, 0x61));
    }
    const listen = options.listen ?? ["80"];
    const conf = join(dir.path, "nginx.conf");
    writeFileSync(
      conf,
      `user root;
worker_processes 1;
pid ${join(dir.path, "nginx.pid")};
error_log ${join(dir.path, "error.log")} warn;
events { worker_connections 4096; }
http {
  access_log off;
  keepalive_timeout 30s;
${["client_body", "proxy", "fastcgi", "uwsgi", "scgi"].map((kind) => `  ${kind}_temp_path ${temp};`).join("\n")}
  server {
${listen.map((address) => `    listen ${address} reuseport backlog=4096;`).join("\n")}
    root ${root};
    location = / { default_type text/plain; return 200 "${options.body}\\n"; }
  }
}
`,
    );
    const daemon = ns.daemon(nginx, [
      ...["-p", dir.path, "-e", join(dir.path, "error.log"), "-c", conf],
      ...["-g", "daemon off;"],
    ]);
    const ports = listen.map((address) => address.split(":").pop() ?? address);
    await waitFor(
      `nginx listening in ${ns.name}`,
      async () => {
        if (daemon.process.exitCode !== null) {
          throw new Error(`nginx in ${ns.name} exited: ${daemon.output()}`);
        }
        const ss = await ns.exec(requireProgram("ss"), ["-Hltn"]);
        return ports.every((port) => new RegExp(`:${port}\\s`).test(ss.stdout));
      },
      10_000,
      50,
    );
    return { ns, dir: dir.path, daemon, stop: () => daemon.stop() };
  }

  /**
   * Runs the compiled test helper `script` (a .js path) with this Node in `ns` and returns what
   * it printed; throws when it fails.
   */
  async node(ns: Namespace, script: string, args: string[], limitMs = 60_000): Promise<string> {
    return (await ns.exec(process.execPath, [script, ...args], limitMs)).stdout;
  }

  /** Starts `ip netns exec` of a long-running Node helper in `ns`, stopped at cleanup. */
  nodeDaemon(ns: Namespace, script: string, args: string[]): Daemon {
    return ns.daemon(process.execPath, [script, ...args]);
  }

  /** Stops every daemon, then deletes every namespace of the lab; errors are collected. */
  async cleanup(): Promise<void> {
    const errors: unknown[] = [];
    for (const daemon of this.daemons.splice(0).reverse()) {
      try {
        await daemon.stop();
      } catch (error) {
        errors.push(error);
      }
    }
    for (const name of this.namespaces.splice(0).reverse()) {
      try {
        await deleteNamespace(name);
      } catch (error) {
        errors.push(error);
      }
    }
    for (const dir of this.dirs.splice(0)) dir.cleanup();
    if (errors.length > 0) throw errors[0];
  }
}

/** Spawns `program` in `ns` without waiting (for a load that runs while the test acts). */
export function spawnIn(ns: Namespace, program: string, args: string[]) {
  return spawn(requireProgram("ip"), ["netns", "exec", ns.name, program, ...args], {
    stdio: ["ignore", "pipe", "pipe"],
  });
}
