/**
 * Kernel data plane benchmark, in network namespaces (client, director, one nginx real server
 * on one bridge): new connections per second and bulk throughput from the client to the real
 * server
 *   - direct (no director),
 *   - through ballast's user-space tcp listener in the director,
 *   - through the kernel NAT path (ballast's nftables DNAT + masquerade),
 *   - through the kernel DR path (netdev ingress, MAC rewrite; replies bypass the director),
 *   - through the kernel TUN path (DR's rules, out through a VXLAN device to the real server;
 *     replies bypass the director too).
 * All paths are up at once (one ballast with DR on the VIP, NAT on a second address of the
 * director and TUN on a third; the tcp listener in a ballast of its own on the director's
 * address, its pool on a second address of the real server), so they are
 * measured in turns within each round (new connections on every path, then bulk on every
 * path), in a rotated order, and every ratio is taken within a round: the table gives the
 * median over the rounds of the rates and of the same-round ratios. It also counts the packets
 * the director received per 100 MB of bulk: what its rules had to look at.
 *
 * The machine is shared, so rates swing with its load; next to each rate the bench prints the
 * CPU time the lab spent per 1000 connections (per 100 MB for bulk): the client's wrk, every
 * process of the real server and of the director (both ballasts with their nft and conntrack
 * children). Packet work in softirq is charged to the process that sent the packet, so a
 * path's CPU over direct's ("over direct", same round) is what the director costs per 1000
 * connections, whatever the load does to the rates.
 *
 * New connections: wrk with `Connection: close` (a new TCP connection per request, GET of a
 * small body). Bulk: wrk downloading the same 1 MB file over the same number of keep-alive
 * connections on every path. Every run is bounded (wrk -d) and every namespace and process is
 * removed at the end, also on failure. The real server shares the director's LAN, as for DR:
 * TUN's figure is what the encapsulation costs, not a router (tun.test.ts has the routed lab).
 *
 * Knobs: BENCH_SECONDS (3) per measurement, BENCH_ROUNDS (3), BENCH_CONNECTIONS (8) for new
 * connections, BENCH_BULK_CONNECTIONS (4), BENCH_DIRECTOR_SYSCTL (`key=value,...` set in the
 * director's namespace, e.g. net.netfilter.nf_conntrack_tcp_timeout_time_wait=10).
 */
import { writeFileSync } from "node:fs";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import {
  buildLvsLab,
  DIRECTOR,
  LAB_VNI,
  type LvsLab,
  linkCounters,
  VIP,
} from "../../test/kernel/lvs-lab.js";
import { BALLAST_CLI } from "../../test/support/ballast-cli.js";
import type { Daemon } from "../../test/support/daemon.js";
import type { Namespace } from "../../test/support/netns.js";
import { requireProgram } from "../../test/support/programs.js";
import { tempDir } from "../../test/support/temp-dir.js";
import { waitFor } from "../../test/support/wait.js";
import { OWN_AND_CHILDREN, statCpuMs } from "./proc-stat.js";

const seconds = Number(process.env.BENCH_SECONDS ?? 3);
const rounds = Number(process.env.BENCH_ROUNDS ?? 3);
const connections = Number(process.env.BENCH_CONNECTIONS ?? 8);
const bulkConnections = Number(process.env.BENCH_BULK_CONNECTIONS ?? 4);
/** Director sysctls to try, as `key=value` pairs (masquerade's ports: see docs/kernel.md). */
const directorSysctls = (process.env.BENCH_DIRECTOR_SYSCTL ?? "")
  .split(",")
  .filter((pair) => pair.includes("="))
  .map((pair) => pair.split("=", 2) as [string, string]);
/** The NAT service's address: a second address of the director (DR has the VIP). */
const NAT_VIP = "10.77.0.101";
/**
 * The TUN service's address: a third address of the director (DR's ingress chain on the same
 * device holds VIP:80), held by the real server on its tunnel device, where its decapsulated
 * frames arrive; arp_ignore keeps it from answering ARP for it on the LAN.
 */
const TUN_VIP = "10.77.0.102";
/**
 * A second address of the real server, for the user-space listener's pool only. That listener
 * and NAT's masquerade both connect from the director's address to the real server's port 80,
 * and the real server keeps each closed connection's 4-tuple in TIME_WAIT for 60 s. A
 * masqueraded SYN that reuses a 4-tuple the listener used last meets the real server's
 * timestamp check with an unrelated clock, is often dropped as an old duplicate and costs the
 * client a 1 s retransmission (NAT fell to a third of its rate after its first round; see
 * docs/kernel.md). A real director
 * does not open its own connections to its real servers by the thousand; the bench must not
 * either, or it measures that collision instead of the NAT path.
 */
const RS_USERSPACE_ADDRESS = "10.77.0.111";
const WRK_CPU = fileURLToPath(new URL("./wrk-cpu.js", import.meta.url));

interface Path {
  name: string;
  base: string;
}

/** One measurement: the rate and the lab's CPU milliseconds it took. */
interface Sample {
  rate: number;
  cpuMs: number;
  /** Packets the director received per 1000 connections (per 100 MB). */
  directorPackets: number;
}

interface PathFigures {
  fresh: Sample[];
  bulk: Sample[];
}

/** CPU ms (user + system, with reaped children) of every process in the namespaces. */
async function namespaceCpuMs(namespaces: readonly Namespace[]): Promise<number> {
  const ip = requireProgram("ip");
  let ms = 0;
  for (const ns of namespaces) {
    const pids = (await ns.exec(ip, ["netns", "pids", ns.name]).catch(() => undefined))?.stdout;
    for (const pid of (pids ?? "").split("\n").filter((line) => line.trim() !== "")) {
      try {
        ms += statCpuMs(pid.trim(), OWN_AND_CHILDREN);
      } catch {
        // the process ended meanwhile
      }
    }
  }
  return ms;
}

/** Runs wrk in the client namespace; returns requests/s, MB/s (10^6 bytes) and its CPU ms. */
async function wrk(lvs: LvsLab, url: string, args: string[], duration = seconds) {
  const out = await lvs.lab.node(
    lvs.client,
    WRK_CPU,
    [requireProgram("wrk"), "-t", "1", "-d", `${duration}s`, "--timeout", "5s", ...args, url],
    (duration + 60) * 1000,
  );
  const rps = /Requests\/sec:\s+([\d.]+)/.exec(out);
  const transfer = /Transfer\/sec:\s+([\d.]+)([KMG]?B)/.exec(out);
  const requests = /(\d+) requests in/.exec(out);
  const cpu = /cpu-ms ([\d.]+)/.exec(out);
  if (rps === null || transfer === null || requests === null || /Non-2xx/.test(out)) {
    throw new Error(`wrk against ${url} failed: ${out}`);
  }
  const errors = /Socket errors:.*/.exec(out);
  if (errors !== null) console.error(`${url}: ${errors[0]}`);
  const unit = { B: 1, KB: 1024, MB: 1024 ** 2, GB: 1024 ** 3 }[transfer[2]] ?? 1;
  return {
    rps: Number(rps[1]),
    requests: Number(requests[1]),
    mbps: (Number(transfer[1]) * unit) / 1e6,
    cpuMs: Number(cpu?.[1] ?? 0),
  };
}

/** One wrk run with the CPU the lab spent on it (client, director, real server). */
async function sample(lvs: LvsLab, url: string, args: string[], bulk: boolean): Promise<Sample> {
  const servers = [lvs.director, ...lvs.servers.map((server) => server.ns)];
  const before = await namespaceCpuMs(servers);
  const packetsBefore = await directorPackets(lvs);
  const result = await wrk(lvs, url, args);
  const packets = (await directorPackets(lvs)) - packetsBefore;
  const labMs = (await namespaceCpuMs(servers)) - before + result.cpuMs;
  // CPU ms per 1000 connections, or per 100 MB.
  const units = Math.max(bulk ? (result.mbps * seconds) / 100 : result.requests / 1000, 1e-9);
  return {
    rate: bulk ? result.mbps : result.rps,
    cpuMs: labMs / units,
    directorPackets: packets / units,
  };
}

/** Packets received by the director's interface so far. */
async function directorPackets(lvs: LvsLab): Promise<number> {
  return (await linkCounters(lvs.director, "eth0")).rx.packets;
}

/** The pool of the bench: rs1 alone, at `address` (its own by default). */
function pool(lvs: LvsLab, address = lvs.servers[0].address): string {
  const rs = lvs.servers[0];
  // Passive detection off: with one backend, a single failed connection under load would
  // suspend it for 10 s and measure the suspension instead of the listener.
  return `pools:
  web:
    algorithm: wrr
    passive: { max_fails: 0 }
    backends:
      - { name: ${rs.name}, address: "${address}:80", weight: 1 }
`;
}

/**
 * The user-space tcp listener on the director's address, in a ballast of its own (one worker,
 * the default), so the kernel services' bookkeeping does not share its event loop.
 */
async function startUserSpace(lvs: LvsLab, dir: string): Promise<Daemon> {
  const path = join(dir, "userspace.yaml");
  writeFileSync(
    path,
    `listeners:\n  - name: userspace\n    protocol: tcp\n    bind: ${DIRECTOR}:8080\n    pool: web\n${pool(lvs, RS_USERSPACE_ADDRESS)}`,
  );
  const daemon = lvs.lab.nodeDaemon(lvs.director, BALLAST_CLI, ["start", "--config", path]);
  await waitFor(
    "the user-space ballast started",
    () => {
      if (daemon.process.exitCode !== null) throw new Error(`ballast exited: ${daemon.output()}`);
      return daemon.output().includes('"msg":"ballast started"');
    },
    30_000,
    50,
  );
  return daemon;
}

/** The kernel services over rs1: DR on the VIP, NAT on NAT_VIP, TUN on TUN_VIP. */
function config(lvs: LvsLab): string {
  return `listeners:
  - name: dr
    protocol: kernel
    mode: dr
    bind: ${VIP}:80
    interface: eth0
    pool: web
  - name: nat
    protocol: kernel
    mode: nat
    bind: ${NAT_VIP}:80
    pool: web
  - name: tun
    protocol: kernel
    mode: tun
    bind: ${TUN_VIP}:80
    interface: eth0
    tunnel: { vni: ${LAB_VNI} }
    pool: web
${pool(lvs)}`;
}

const median = (values: number[]) => {
  const sorted = [...values].sort((a, b) => a - b);
  const mid = Math.floor(sorted.length / 2);
  return sorted.length % 2 === 1 ? sorted[mid] : (sorted[mid - 1] + sorted[mid]) / 2;
};

/** The median over rounds of `path`'s figure divided by `of`'s in the same round. */
function ratio(figures: Map<string, PathFigures>, path: string, of: string, bulk: boolean) {
  const pick = (name: string) => {
    const f = figures.get(name);
    return (bulk ? f?.bulk : f?.fresh) ?? [];
  };
  const a = pick(path);
  const b = pick(of);
  const ratios = a.map((s, i) => s.rate / (b[i]?.rate ?? Number.NaN));
  return `${median(ratios).toFixed(2)}x`;
}

/** The median over rounds of `path`'s CPU per connection (or per 100 MB) over direct's. */
function overDirect(figures: Map<string, PathFigures>, path: string, bulk: boolean): string {
  const pick = (name: string) => {
    const f = figures.get(name);
    return (bulk ? f?.bulk : f?.fresh) ?? [];
  };
  const direct = pick("direct");
  const extra = pick(path).map((s, i) => s.cpuMs - (direct[i]?.cpuMs ?? Number.NaN));
  return `${Math.round(median(extra))}`;
}

function table(paths: readonly Path[], figures: Map<string, PathFigures>): string {
  const lines = [
    "| path | new conn/s | vs user-space | CPU ms/1000 conn | over direct | bulk MB/s | vs direct | CPU ms/100 MB | director packets/100 MB |",
    "|---|---:|---:|---:|---:|---:|---:|---:|---:|",
  ];
  for (const path of paths) {
    const f = figures.get(path.name);
    if (f === undefined) continue;
    const rate = (s: Sample[]) => median(s.map((x) => x.rate));
    const cpu = (s: Sample[]) => median(s.map((x) => x.cpuMs)).toFixed(0);
    lines.push(
      `| ${path.name} | ${Math.round(rate(f.fresh))} | ${ratio(figures, path.name, "user-space tcp listener", false)} | ${cpu(f.fresh)} | ${overDirect(figures, path.name, false)} | ${rate(f.bulk).toFixed(0)} | ${ratio(figures, path.name, "direct", true)} | ${cpu(f.bulk)} | ${Math.round(median(f.bulk.map((x) => x.directorPackets)))} |`,
    );
  }
  return lines.join("\n");
}

const lvs = await buildLvsLab(1);
const dir = tempDir("kernel-bench");
let ballast: Daemon | undefined;
let userSpace: Daemon | undefined;
const stop = async () => {
  await userSpace?.stop();
  await ballast?.stop();
  await lvs.cleanup();
  dir.cleanup();
};
process.on("SIGINT", () => void stop().then(() => process.exit(130)));
try {
  await lvs.director.ip("addr", "add", `${NAT_VIP}/32`, "dev", "eth0");
  await lvs.director.ip("addr", "add", `${TUN_VIP}/32`, "dev", "eth0");
  await lvs.servers[0].ns.ip("addr", "add", `${TUN_VIP}/32`, "dev", "tun0");
  await lvs.servers[0].ns.ip("addr", "add", `${RS_USERSPACE_ADDRESS}/24`, "dev", "eth0");
  ballast = await lvs.startBallast(config(lvs));
  // After the start: conntrack's sysctls exist in a namespace once its rules use conntrack.
  for (const [key, value] of directorSysctls) await lvs.director.sysctl(key.trim(), value.trim());
  userSpace = await startUserSpace(lvs, dir.path);
  const paths: Path[] = [
    { name: "direct", base: `http://${lvs.servers[0].address}` },
    { name: "user-space tcp listener", base: `http://${DIRECTOR}:8080` },
    { name: "kernel NAT", base: `http://${NAT_VIP}` },
    { name: "kernel DR", base: `http://${VIP}` },
    { name: "kernel TUN", base: `http://${TUN_VIP}` },
  ];
  // The real server's MAC (DR) and its tunnel's forwarding entry (TUN) come with the first
  // ticks: wait until both answer, then warm up.
  for (const path of paths.slice(3)) {
    await waitFor(
      `the ${path.name} service forwarding`,
      async () =>
        (await wrk(lvs, `${path.base}/`, ["-c", "1"], 1).catch(() => undefined)) !== undefined,
      30_000,
      500,
    );
  }
  for (const path of paths) await wrk(lvs, `${path.base}/`, ["-c", "2"], 1);
  const figures = new Map<string, PathFigures>(paths.map((p) => [p.name, { fresh: [], bulk: [] }]));
  const freshArgs = ["-c", String(connections), "-H", "Connection: close"];
  const bulkArgs = ["-c", String(bulkConnections)];
  // Each kind in turns over the paths, so the figures a ratio compares are seconds apart.
  for (let round = 0; round < rounds; round++) {
    const order = paths.map((_, i) => paths[(i + round) % paths.length]);
    for (const bulk of [false, true]) {
      for (const path of order) {
        const s = bulk
          ? await sample(lvs, `${path.base}/bulk`, bulkArgs, true)
          : await sample(lvs, `${path.base}/`, freshArgs, false);
        (bulk ? figures.get(path.name)?.bulk : figures.get(path.name)?.fresh)?.push(s);
        console.error(
          `round ${round + 1} ${path.name}: ${bulk ? `${s.rate.toFixed(0)} MB/s, ${s.cpuMs.toFixed(0)} CPU ms and ${Math.round(s.directorPackets)} director packets per 100 MB` : `${Math.round(s.rate)} new connections/s, ${s.cpuMs.toFixed(0)} CPU ms and ${Math.round(s.directorPackets)} director packets per 1000`}`,
        );
      }
    }
  }
  console.log(
    `${rounds} rounds of ${seconds} s per figure; medians, ratios taken within each round`,
  );
  console.log(table(paths, figures));
} finally {
  await stop();
}
