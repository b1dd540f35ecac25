/**
 * Two directors in namespaces, each running ballast (a user-space `tcp` listener on the VIP)
 * and Debian's keepalived with the config `ballast ha keepalived-config` generated for it;
 * a client and two nginx real servers, all on one bridge. VRRP goes unicast between the
 * directors. Director "da" has the higher priority.
 */
import { execFile } from "node:child_process";
import { writeFileSync } from "node:fs";
import { join } from "node:path";
import { BALLAST_CLI } from "../support/ballast-cli.js";
import type { Daemon } from "../support/daemon.js";
import { type Namespace, NetnsLab } from "../support/netns.js";
import { requireProgram } from "../support/programs.js";
import { tempDir } from "../support/temp-dir.js";
import { waitFor } from "../support/wait.js";

export const VIP = "10.9.0.100";
const REAL_SERVERS = { r1: "10.9.0.21", r2: "10.9.0.22" };

/** One director: its namespace, ballast and keepalived processes, and its files. */
export interface Director {
  name: string;
  ns: Namespace;
  address: string;
  ballast: Daemon;
  keepalived: Daemon;
  healthFile: string;
}

/** The whole lab; `cleanup` removes every namespace and file, also after a failure. */
export interface HaLab {
  lab: NetnsLab;
  client: Namespace;
  directors: { da: Director; db: Director };
  realServers: string[];
  cleanup(): Promise<void>;
}

function ballastConfig(self: string, peer: string, priority: number, healthFile: string): string {
  return [
    "listeners:",
    `  - { name: vip, protocol: tcp, bind: "${VIP}:80", pool: web }`,
    "pools:",
    "  web:",
    "    health_check: { type: tcp, interval: 200ms, timeout: 200ms, fall: 1, rise: 1 }",
    "    backends:",
    ...Object.values(REAL_SERVERS).map((address) => `      - { address: "${address}:80" }`),
    "ha:",
    "  interface: eth0",
    "  virtual_router_id: 51",
    `  priority: ${priority}`,
    `  vips: ["${VIP}/24"]`,
    `  unicast_src: ${self}`,
    `  unicast_peers: [${peer}]`,
    `  health_file: ${healthFile}`,
    "  heartbeat: 250ms",
    "  stale_after: 1s",
    "log: { level: info }",
    "",
  ].join("\n");
}

/** Runs `ballast ha <what>-config` as a user would, and returns what it printed. */
export function generateConfig(
  what: "keepalived" | "conntrackd",
  configPath: string,
  routerId?: string,
): Promise<string> {
  const extra = routerId === undefined ? [] : ["--router-id", routerId];
  return new Promise((resolve, reject) => {
    execFile(
      process.execPath,
      [BALLAST_CLI, "ha", `${what}-config`, "--config", configPath, ...extra],
      { timeout: 20_000 },
      (error, stdout, stderr) =>
        error ? reject(new Error(`${error}: ${stderr}`)) : resolve(stdout),
    );
  });
}

/** Whether `ns` holds the VIP on eth0 now. */
export async function holdsVip(ns: Namespace): Promise<boolean> {
  const { stdout } = await ns.ip("-4", "-o", "addr", "show", "dev", "eth0");
  return stdout.includes(` ${VIP}/`);
}

/** Two directors' namespaces, as the VIP checks need them. */
export interface DirectorPair {
  directors: { da: { ns: Namespace }; db: { ns: Namespace } };
}

/** Which director holds the VIP ("da", "db", "both" or "none"). */
export async function vipHolder(lab: DirectorPair): Promise<string> {
  const a = await holdsVip(lab.directors.da.ns);
  const b = await holdsVip(lab.directors.db.ns);
  return a && b ? "both" : a ? "da" : b ? "db" : "none";
}

/** Waits until `who` alone holds the VIP. */
export function waitForHolder(lab: DirectorPair, who: string, limitMs = 20_000): Promise<void> {
  return waitFor(`the VIP on ${who}`, async () => (await vipHolder(lab)) === who, limitMs, 100);
}

/** Builds the lab and waits until director "da" holds the VIP. */
export async function startHaLab(): Promise<HaLab> {
  const lab = await NetnsLab.create();
  const dir = tempDir("ha");
  const cleanup = async () => {
    try {
      await lab.cleanup();
    } finally {
      dir.cleanup();
    }
  };
  try {
    const sw = await lab.namespace("sw");
    await lab.bridge(sw, "br0");
    const client = await lab.namespace("c");
    await lab.attach(sw, "br0", "p-c", { ns: client, ifname: "eth0", address: "10.9.0.10/24" });
    for (const [name, address] of Object.entries(REAL_SERVERS)) {
      const ns = await lab.namespace(name);
      await lab.attach(sw, "br0", `p-${name}`, { ns, ifname: "eth0", address: `${address}/24` });
      await lab.startNginxIn(ns, { body: name });
    }
    const keepalived = requireProgram("keepalived");
    const start = async (name: string, self: string, peer: string, priority: number) => {
      const ns = await lab.namespace(name);
      await lab.attach(sw, "br0", `p-${name}`, { ns, ifname: "eth0", address: `${self}/24` });
      // ballast binds the VIP while the peer holds it, as a backup director must.
      await ns.sysctl("net.ipv4.ip_nonlocal_bind", 1);
      const healthFile = join(dir.path, `${name}-health`);
      const configPath = join(dir.path, `${name}.yaml`);
      writeFileSync(configPath, ballastConfig(self, peer, priority, healthFile));
      const keepalivedConf = join(dir.path, `${name}-keepalived.conf`);
      writeFileSync(keepalivedConf, await generateConfig("keepalived", configPath, name));
      const ballast = ns.daemon(process.execPath, [BALLAST_CLI, "start", "--config", configPath]);
      const pid = (what: string) => join(dir.path, `${name}-${what}.pid`);
      const vrrp = ns.daemon(keepalived, [
        ...["--dont-fork", "--log-console", "--log-detail", "--vrrp"],
        ...["-f", keepalivedConf, "-p", pid("main"), "-r", pid("vrrp"), "-c", pid("checkers")],
      ]);
      return { name, ns, address: self, ballast, keepalived: vrrp, healthFile };
    };
    const da = await start("da", "10.9.0.2", "10.9.0.3", 150);
    const db = await start("db", "10.9.0.3", "10.9.0.2", 100);
    const ha: HaLab = {
      lab,
      client,
      directors: { da, db },
      realServers: Object.keys(REAL_SERVERS),
      cleanup,
    };
    await waitForHolder(ha, "da", 30_000).catch((error: Error) => {
      const output = [da, db].map(
        (d) =>
          `${d.name} ballast:\n${d.ballast.output()}\n${d.name} keepalived:\n${d.keepalived.output()}`,
      );
      throw new Error(`${error.message}\n${output.join("\n")}`);
    });
    return ha;
  } catch (error) {
    await cleanup();
    throw error;
  }
}
