/**
 * A real etcd cluster for the registry tests: three members of Debian's `etcd` on loopback,
 * each with its own temp data dir and ports, with short heartbeat and election timeouts so
 * a lost member is replaced in well under a second and 1 s leases are allowed.
 */

import { type Daemon, startDaemon } from "../support/daemon.js";
import { freePort } from "../support/ports.js";
import { requireProgram } from "../support/programs.js";
import { tempDir } from "../support/temp-dir.js";
import { waitFor } from "../support/wait.js";

/** One member: its client URL and its process. */
export interface EtcdMember {
  name: string;
  clientUrl: string;
  daemon: Daemon;
}

/** A running cluster; `stop` ends every member and removes the data dirs. */
export interface EtcdCluster {
  members: EtcdMember[];
  endpoints: string[];
  stop(): Promise<void>;
}

/** Starts `size` members and waits until every one reports itself healthy. */
export async function startEtcdCluster(size = 3): Promise<EtcdCluster> {
  const etcd = requireProgram("etcd");
  const dir = tempDir("etcd");
  const token = `ballast-${process.pid}-${Date.now()}`;
  const ports = [];
  for (let i = 0; i < size; i++) ports.push({ client: await freePort(), peer: await freePort() });
  const initial = ports.map((p, i) => `m${i}=http://127.0.0.1:${p.peer}`).join(",");
  const members: EtcdMember[] = [];
  const cluster: EtcdCluster = {
    members,
    endpoints: ports.map((p) => `http://127.0.0.1:${p.client}`),
    async stop() {
      await Promise.all(members.map((m) => m.daemon.stop()));
      dir.cleanup();
    },
  };
  try {
    for (const [i, p] of ports.entries()) {
      const clientUrl = `http://127.0.0.1:${p.client}`;
      const daemon = startDaemon(etcd, [
        `--name=m${i}`,
        `--data-dir=${dir.path}/m${i}`,
        `--listen-client-urls=${clientUrl}`,
        `--advertise-client-urls=${clientUrl}`,
        `--listen-peer-urls=http://127.0.0.1:${p.peer}`,
        `--initial-advertise-peer-urls=http://127.0.0.1:${p.peer}`,
        `--initial-cluster=${initial}`,
        "--initial-cluster-state=new",
        `--initial-cluster-token=${token}`,
        "--heartbeat-interval=50",
        "--election-timeout=500",
        "--logger=zap",
        "--log-level=error",
      ]);
      members.push({ name: `m${i}`, clientUrl, daemon });
    }
    await waitFor(
      "every etcd member to be healthy",
      async () => (await Promise.all(members.map(healthy))).every(Boolean),
      20_000,
    );
  } catch (error) {
    const logs = members.map((m) => `${m.name}: ${m.daemon.output().slice(-2000)}`).join("\n");
    await cluster.stop();
    throw new Error(`${(error as Error).message}\n${logs}`);
  }
  return cluster;
}

async function healthy(member: EtcdMember): Promise<boolean> {
  try {
    const answer = await fetch(`${member.clientUrl}/health`, { signal: AbortSignal.timeout(1000) });
    return (
      answer.status === 200 && ((await answer.json()) as { health?: string }).health === "true"
    );
  } catch {
    return false;
  }
}
