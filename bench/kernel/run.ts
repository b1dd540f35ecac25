/**
 * Kernel data plane benchmark, in network namespaces (client, director, real servers on one
 * bridge, nginx as the real server): new connections per second and bulk throughput from the
 * client to one real server
 *   - direct (no director),
 *   - through ballast's user-space tcp listener in the director,
 *   - through the kernel NAT path (ballast's nftables DNAT + masquerade),
 *   - through the kernel DR path (netdev ingress, MAC rewrite; replies bypass the director),
 *   - through the kernel TUN path (DR's rules, out through a VXLAN device to the real server),
 * all in the same run, with each figure's ratio to the user-space listener and to direct.
 * New connections: wrk with `Connection: close` (a new TCP connection per request, GET of a
 * small body). Bulk: wrk downloading a 1 MB file over keep-alive connections. Every run is
 * bounded (wrk -d) and every namespace and process is removed at the end, also on failure.
 *
 * Knobs: BENCH_SECONDS (3) per measurement, BENCH_CONNECTIONS (8) for new connections.
 */
import { setTimeout as sleep } from "node:timers/promises";
import {
  buildLvsLab,
  DIRECTOR,
  kernelConfig,
  type LvsLab,
  VIP,
} from "../../test/kernel/lvs-lab.js";
import type { Daemon } from "../../test/support/daemon.js";
import { requireProgram } from "../../test/support/programs.js";

const seconds = Number(process.env.BENCH_SECONDS ?? 3);
const connections = Number(process.env.BENCH_CONNECTIONS ?? 8);

interface Figures {
  name: string;
  connectionsPerSecond: number;
  megabytesPerSecond: number;
}

/** Runs wrk in the client namespace; returns requests/s and MB/s (10^6 bytes). */
async function wrk(
  lvs: LvsLab,
  url: string,
  args: string[],
): Promise<{ rps: number; mbps: number }> {
  const result = await lvs.client.exec(
    requireProgram("wrk"),
    ["-t", "1", "-d", `${seconds}s`, "--timeout", "5s", ...args, url],
    (seconds + 30) * 1000,
  );
  const rps = /Requests\/sec:\s+([\d.]+)/.exec(result.stdout);
  const transfer = /Transfer\/sec:\s+([\d.]+)([KMG]?B)/.exec(result.stdout);
  if (rps === null || transfer === null || /Non-2xx/.test(result.stdout)) {
    throw new Error(`wrk against ${url} failed: ${result.stdout}${result.stderr}`);
  }
  const unit = { B: 1, KB: 1024, MB: 1024 ** 2, GB: 1024 ** 3 }[transfer[2]] ?? 1;
  return { rps: Number(rps[1]), mbps: (Number(transfer[1]) * unit) / 1e6 };
}

async function measure(lvs: LvsLab, name: string, base: string): Promise<Figures> {
  const fresh = await wrk(lvs, `${base}/`, ["-c", String(connections), "-H", "Connection: close"]);
  const bulk = await wrk(lvs, `${base}/bulk`, ["-c", "4"]);
  const figures = { name, connectionsPerSecond: fresh.rps, megabytesPerSecond: bulk.mbps };
  console.error(
    `${name}: ${Math.round(fresh.rps)} new connections/s, ${bulk.mbps.toFixed(0)} MB/s`,
  );
  return figures;
}

/** The kernel service over rs1 alone, and a tcp listener in the director to the same server. */
function config(lvs: LvsLab, mode: "nat" | "dr" | "tun"): string {
  const kernel = kernelConfig(lvs.servers.slice(0, 1), { mode, check: false });
  // Passive detection off: with one backend, a single failed connection under load would
  // suspend it for 10 s and measure the suspension instead of the listener.
  return kernel
    .replace(
      "pools:\n",
      `  - name: userspace\n    protocol: tcp\n    bind: ${DIRECTOR}:8080\n    pool: web\npools:\n`,
    )
    .replace("    backends:\n", "    passive: { max_fails: 0 }\n    backends:\n");
}

function table(rows: Figures[]): string {
  const userspace = rows.find((row) => row.name === "user-space tcp listener");
  const direct = rows.find((row) => row.name === "direct");
  const ratio = (value: number, of: number | undefined) =>
    of === undefined || of === 0 ? "-" : `${(value / of).toFixed(2)}x`;
  const lines = [
    "| path | new conn/s | vs user-space | bulk MB/s | vs direct |",
    "|---|---:|---:|---:|---:|",
  ];
  for (const row of rows) {
    lines.push(
      `| ${row.name} | ${Math.round(row.connectionsPerSecond)} | ${ratio(row.connectionsPerSecond, userspace?.connectionsPerSecond)} | ${row.megabytesPerSecond.toFixed(0)} | ${ratio(row.megabytesPerSecond, direct?.megabytesPerSecond)} |`,
    );
  }
  return lines.join("\n");
}

const lvs = await buildLvsLab(1);
let ballast: Daemon | undefined;
const stop = async () => {
  await ballast?.stop();
  await lvs.cleanup();
};
process.on("SIGINT", () => void stop().then(() => process.exit(130)));
try {
  const rows: Figures[] = [];
  rows.push(await measure(lvs, "direct", `http://${lvs.servers[0].address}`));
  ballast = await lvs.startBallast(config(lvs, "nat"));
  await sleep(500);
  rows.push(await measure(lvs, "user-space tcp listener", `http://${DIRECTOR}:8080`));
  rows.push(await measure(lvs, "kernel NAT", `http://${VIP}`));
  await ballast.stop();
  ballast = await lvs.startBallast(config(lvs, "dr"));
  await sleep(1500); // the real server's MAC is learnt at the first ticks
  rows.push(await measure(lvs, "kernel DR", `http://${VIP}`));
  await ballast.stop();
  ballast = await lvs.startBallast(config(lvs, "tun"));
  await sleep(1500);
  rows.push(await measure(lvs, "kernel TUN", `http://${VIP}`));
  console.log(table(rows));
} finally {
  await stop();
}
