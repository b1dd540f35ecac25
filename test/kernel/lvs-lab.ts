/**
 * The LVS lab of the kernel tests: one LAN (a bridge in a switch namespace) joining a client,
 * a director and real servers, each real server a real nginx answering with its name. The
 * real servers hold the VIP on lo with arp_ignore=1 and arp_announce=2, as LVS-DR needs (NAT
 * does not mind), and a VXLAN device for TUN (VNI 42, the MAC ballast derives from their
 * address, rp_filter off); the director runs a real `ballast start` in its own namespace.
 * `routed: true` puts the real servers on a second LAN behind a router namespace instead, as
 * only TUN (and NAT) can reach them.
 */
import { writeFileSync } from "node:fs";
import { join } from "node:path";
import { tunnelMac } from "../../src/kernel/tunnels.js";
import { BALLAST_CLI } from "../support/ballast-cli.js";
import type { Daemon } from "../support/daemon.js";
import { type Namespace, type NamespacedNginx, NetnsLab, spawnIn } from "../support/netns.js";
import { type BurstResult, CLIENT_SCRIPT } from "../support/netns-client.js";
import { requireProgram } from "../support/programs.js";
import { tempDir } from "../support/temp-dir.js";
import { waitFor } from "../support/wait.js";

export const VIP = "10.77.0.100";
export const DIRECTOR = "10.77.0.2";
export const CLIENT = "10.77.0.10";
export const ADMIN = "http://127.0.0.1:9911";
export const TOKEN = "kernel-test-token";
/** The router between the LANs of a routed lab (its side on the client's LAN). */
export const ROUTER = "10.77.0.1";
/** The VXLAN network identifier of the real servers' tunnel devices. */
export const LAB_VNI = 42;

/** A real server of the lab. */
export interface LabServer {
  name: string;
  address: string;
  ns: Namespace;
  nginx: NamespacedNginx;
}

/** The lab: namespaces, servers and the director's ballast. */
export interface LvsLab {
  lab: NetnsLab;
  client: Namespace;
  director: Namespace;
  servers: LabServer[];
  /** Starts ballast in the director with this YAML (an admin section is added). */
  startBallast(yaml: string): Promise<Daemon>;
  /** Writes a new config (an admin section is added), for `ballast ctl reload`. */
  writeConfig(yaml: string): string;
  /** Runs `ballast ctl ARGS` in the director and returns what it printed. */
  ctl(...args: string[]): Promise<string>;
  /** `count` new connections from the client to the VIP, each request on its own connection. */
  burst(count: number, extra?: string[]): Promise<BurstResult>;
  /** New connections for `durationMs` from the client, running while the test acts. */
  burstFor(durationMs: number): Promise<BurstResult>;
  /** New connections the director's kernel service has dispatched (its nftables counter). */
  dispatched(): Promise<number>;
  /** The director's whole ruleset, as `nft list ruleset` prints it. */
  ruleset(): Promise<string>;
  cleanup(): Promise<void>;
}

/**
 * Builds the lab with `count` real servers rs1..rsN at 10.77.0.11 and up, or with `routed`
 * at 10.78.0.11 and up on a LAN of their own behind the router.
 */
export async function buildLvsLab(
  count: number,
  options: { routed?: boolean } = {},
): Promise<LvsLab> {
  const nft = requireProgram("nft");
  const lab = await NetnsLab.create();
  const dir = tempDir("kernel-lab");
  try {
    const sw = await lab.namespace("sw");
    await lab.bridge(sw, "br0");
    await behaveLikeASwitch(sw);
    const client = await lab.namespace("client");
    const director = await lab.namespace("dir");
    for (const ns of [client, director]) await startEveryConnectionAfresh(ns);
    await lab.attach(sw, "br0", "p-client", {
      ns: client,
      ifname: "eth0",
      address: `${CLIENT}/24`,
    });
    await lab.attach(sw, "br0", "p-dir", {
      ns: director,
      ifname: "eth0",
      address: `${DIRECTOR}/24`,
    });
    await director.ip("addr", "add", `${VIP}/32`, "dev", "eth0");
    await director.sysctl("net.ipv4.ip_forward", 1);
    // One-armed NAT: the director forwards out of the interface the packet came in by.
    await director.sysctl("net.ipv4.conf.all.send_redirects", 0);
    await director.sysctl("net.ipv4.conf.eth0.send_redirects", 0);
    const serverNet = options.routed ? "10.78.0" : "10.77.0";
    if (options.routed) {
      const router = await lab.namespace("rt");
      await lab.attach(sw, "br0", "p-rt0", { ns: router, ifname: "eth0", address: `${ROUTER}/24` });
      await lab.bridge(sw, "br1");
      await lab.attach(sw, "br1", "p-rt1", {
        ns: router,
        ifname: "eth1",
        address: `${serverNet}.1/24`,
      });
      await router.sysctl("net.ipv4.ip_forward", 1);
      // The replies leave the real servers from the VIP, a client-side address: a router
      // with strict reverse-path filtering would drop them (as for LVS-TUN anywhere).
      await router.sysctl("net.ipv4.conf.all.rp_filter", 0);
      await director.ip("route", "add", `${serverNet}.0/24`, "via", ROUTER);
    }
    const servers: LabServer[] = [];
    for (let i = 1; i <= count; i++) {
      const name = `rs${i}`;
      const address = `${serverNet}.${10 + i}`;
      const ns = await lab.namespace(name);
      await lab.attach(sw, options.routed ? "br1" : "br0", `p-${name}`, {
        ns,
        ifname: "eth0",
        address: `${address}/24`,
      });
      if (options.routed) await ns.ip("route", "add", "default", "via", `${serverNet}.1`);
      await ns.ip("addr", "add", `${VIP}/32`, "dev", "lo");
      await startEveryConnectionAfresh(ns);
      for (const scope of ["all", "eth0"]) {
        await ns.sysctl(`net.ipv4.conf.${scope}.arp_ignore`, 1);
        await ns.sysctl(`net.ipv4.conf.${scope}.arp_announce`, 2);
      }
      // TUN's end: frames come out of tun0 from clients routed by eth0, and tun0 has no
      // address, where even loose reverse-path filtering drops: rp_filter 0 (all is 0 here).
      await ns.ip(
        ...["link", "add", "tun0", "type", "vxlan", "id", String(LAB_VNI)],
        ...["dstport", "4789", "nolearning"],
      );
      await ns.ip("link", "set", "tun0", "address", tunnelMac(address), "up");
      await ns.sysctl("net.ipv4.conf.all.rp_filter", 0);
      await ns.sysctl("net.ipv4.conf.tun0.rp_filter", 0);
      const nginx = await lab.startNginxIn(ns, { body: name, files: { bulk: 1 << 20 } });
      servers.push({ name, address, ns, nginx });
    }
    const configPath = join(dir.path, "ballast.yaml");
    const admin = `admin:\n  bind: 127.0.0.1:9911\n  token: ${TOKEN}\nlog:\n  level: info\n`;
    const writeConfig = (yaml: string) => {
      writeFileSync(configPath, `${yaml}\n${admin}`);
      return configPath;
    };
    const ctl = (...args: string[]) =>
      lab.node(director, BALLAST_CLI, ["ctl", "--admin", ADMIN, "--token", TOKEN, ...args]);
    return {
      lab,
      client,
      director,
      servers,
      writeConfig,
      async startBallast(yaml) {
        const daemon = lab.nodeDaemon(director, BALLAST_CLI, [
          "start",
          "--config",
          writeConfig(yaml),
        ]);
        // Its log line, not a ctl round trip: starting the CLI costs seconds on a loaded machine.
        await waitFor(
          "ballast started in the director",
          () => {
            if (daemon.process.exitCode !== null) {
              throw new Error(`ballast exited: ${daemon.output()}`);
            }
            return daemon.output().includes('"msg":"ballast started"');
          },
          30_000,
          50,
        );
        return daemon;
      },
      ctl,
      async burst(n, extra = []) {
        const out = await lab.node(client, CLIENT_SCRIPT, [
          ...["burst", "--host", VIP, "--port", "80", "--count", String(n)],
          ...["--concurrency", "16", ...extra],
        ]);
        return JSON.parse(out) as BurstResult;
      },
      burstFor(durationMs) {
        const child = spawnIn(client, process.execPath, [
          ...[CLIENT_SCRIPT, "burst", "--host", VIP, "--port", "80"],
          ...["--duration-ms", String(durationMs), "--concurrency", "8"],
        ]);
        let out = "";
        child.stdout.on("data", (chunk) => {
          out += chunk;
        });
        return new Promise((resolve, reject) => {
          child.on("error", reject);
          child.on("close", () => {
            try {
              resolve(JSON.parse(out) as BurstResult);
            } catch {
              reject(new Error(`the load client printed no result: ${out}`));
            }
          });
        });
      },
      async dispatched() {
        const listing = (await director.exec(nft, ["list", "counters"])).stdout;
        return [...listing.matchAll(/packets (\d+)/g)].reduce((sum, m) => sum + Number(m[1]), 0);
      },
      async ruleset() {
        return (await director.exec(nft, ["list", "ruleset"])).stdout;
      },
      async cleanup() {
        try {
          await lab.cleanup();
        } finally {
          dir.cleanup();
        }
      },
    };
  } catch (error) {
    await lab.cleanup();
    dir.cleanup();
    throw error;
  }
}

/**
 * The bridge forwards frames as a switch does: where the host has br_netfilter loaded, bridged
 * IPv4 frames would otherwise also cross the switch namespace's IP hooks, a cost no switch has
 * and one that falls twice as often on the director's paths as on the direct one.
 */
async function behaveLikeASwitch(sw: Namespace): Promise<void> {
  for (const family of ["iptables", "ip6tables", "arptables"]) {
    await sw.sysctl(`net.bridge.bridge-nf-call-${family}`, 0).catch(() => undefined);
  }
}

/**
 * No TCP metrics are saved: a connection does not start from the ssthresh that an earlier
 * connection to the same peer (another path of the benchmark) left behind.
 */
async function startEveryConnectionAfresh(ns: Namespace): Promise<void> {
  await ns.sysctl("net.ipv4.tcp_no_metrics_save", 1);
}

/** The kernel data plane's forwarding modes. */
export type KernelMode = "nat" | "dr" | "tun";

/** A device's byte and packet counters, as `ip -s link` shows them. */
export async function linkCounters(ns: Namespace, device: string) {
  const [link] = JSON.parse((await ns.ip("-s", "-j", "link", "show", "dev", device)).stdout) as {
    stats64: { rx: { bytes: number; packets: number }; tx: { bytes: number; packets: number } };
  }[];
  return link.stats64;
}

/** A pool of the lab's servers with these weights, and a kernel listener in front of it. */
export function kernelConfig(
  servers: readonly LabServer[],
  options: {
    mode: KernelMode;
    algorithm?: string;
    weights?: number[];
    persistence?: string;
    check?: boolean;
  },
): string {
  const backends = servers
    .map(
      (server, i) =>
        `      - name: ${server.name}\n        address: ${server.address}:80\n        weight: ${options.weights?.[i] ?? 1}`,
    )
    .join("\n");
  const check =
    options.check === false
      ? ""
      : "    health_check:\n      type: tcp\n      interval: 200ms\n      timeout: 1s\n      rise: 1\n      fall: 2\n";
  return `listeners:
  - name: vip
    protocol: kernel
    mode: ${options.mode}
    bind: ${VIP}:80
    pool: web
${options.mode === "nat" ? "" : "    interface: eth0\n"}${options.mode === "tun" ? `    tunnel: { vni: ${LAB_VNI} }\n` : ""}pools:
  web:
    algorithm: ${options.algorithm ?? "wrr"}
${options.persistence ? `    persistence: ${options.persistence}\n` : ""}${check}    backends:
${backends}
`;
}

/** The name ballast gives a real server's chains and sets: its address and port in hex. */
export function serverHex(server: LabServer, port = 80): string {
  const octets = server.address
    .split(".")
    .map((octet) => Number(octet).toString(16).padStart(2, "0"));
  return octets.join("") + port.toString(16).padStart(4, "0");
}

/** Whether the service's dispatch map (the numgen or jhash vmap) sends new flows to `server`. */
export async function dispatchesTo(lvs: LvsLab, server: LabServer): Promise<boolean> {
  const chain = `_${serverHex(server)}`;
  const ruleset = await lvs.ruleset();
  return ruleset.split("\n").some((line) => line.includes("vmap") && line.includes(chain));
}
