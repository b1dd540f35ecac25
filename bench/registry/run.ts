/**
 * `npm run bench:registry`: the registry in memory on one node, then in etcd shared by two
 * nodes. For each: registrations/s and renewals/s in the storage alone; over the admin API
 * one call per instance (32 keep-alive connections) and in POST /api/registry/batch calls of
 * 100 (8 connections), the load coming from a worker thread; the same single-call load
 * against a plain Node HTTP server (peer.ts), as a ratio; and the time from a registration
 * or a lease's end to the last of 1,000 event-stream watchers seeing it, with 10,000
 * instances registered (10 services of 1,000; the watchers watch one of them).
 *
 * With etcd, the bench starts a 3-member cluster on loopback (Debian's etcd), registers on
 * node A, and splits the watchers between nodes A and B, so the watch figure includes etcd's
 * watch from one node to the other; then it prints etcd/memory ratios.
 *
 * Usage: node dist/bench/registry/run.js [watchers] [instances] [rounds] [etcd rounds]
 *   BENCH_REGISTRY_BACKENDS=memory (or etcd) runs one backend only.
 */
import { createAdminServer } from "../../src/admin/server.js";
import { parseConfigText } from "../../src/config/load.js";
import type { RegistryStorage } from "../../src/registry/storage.js";
import { Runtime } from "../../src/runtime/runtime.js";
import { type EtcdCluster, startEtcdCluster } from "../../test/registry/etcd-cluster.js";
import { httpRate, type LoadJob } from "./load.js";
import { plainNodeServer } from "./peer.js";
import { percentile, ratio, show } from "./stats.js";
import { etcdStoreRates, memoryStoreRates, type StoreRates } from "./store-rates.js";
import { openWatchers, type Watcher, waitAllSeen } from "./watchers.js";

const WATCHERS = Number(process.argv[2] ?? 1000);
const INSTANCES = Number(process.argv[3] ?? 10_000);
const ROUNDS = Number(process.argv[4] ?? 50);
const ETCD_ROUNDS = Number(process.argv[5] ?? 10);
const BACKENDS = (process.env.BENCH_REGISTRY_BACKENDS ?? "memory,etcd").split(",");
const SERVICES = 10;
const TOKEN = "bench-token";
const CONNECTIONS = 32;
const BATCH = 100;
const BATCH_CONNECTIONS = 8;

/** What one backend measured. */
interface Figures {
  store: StoreRates;
  api: StoreRates;
  batch: StoreRates;
  /** The plain Node server's calls/s under the same single-call load. */
  peer: number;
  seeRegistration: number[];
  seeExpiry: number[];
}

function registryYaml(storage: string): string {
  return [
    "listeners:",
    "  - { name: web, protocol: http, bind: '127.0.0.1:0', default_pool: none, access_log: false }",
    "pools:",
    "  none: {}",
    `registry: { max_instances: ${INSTANCES * 4}, self_preservation: false${storage} }`,
    "log: { level: silent }",
    "",
  ].join("\n");
}

/** Over the admin API at `base`: single calls, batches, and the peer under the single-call load. */
async function httpFigures(base: string): Promise<Pick<Figures, "api" | "batch" | "peer">> {
  const job = (kind: LoadJob["kind"], total: number, single: boolean): LoadJob => ({
    base,
    token: TOKEN,
    kind,
    total,
    // Renewals by batch cycle through the instances of both registration runs.
    instances: single || kind === "register" ? INSTANCES : INSTANCES * 2,
    services: SERVICES,
    concurrency: single ? CONNECTIONS : BATCH_CONNECTIONS,
    batch: single ? 1 : BATCH,
  });
  const api = {
    registrations: await httpRate(job("register", INSTANCES, true)),
    renewals: await httpRate(job("renew", INSTANCES * 2, true)),
  };
  // Right after the single calls, so both meet the same load from the rest of the machine.
  const plain = await plainNodeServer();
  const peer = await httpRate({ ...job("register", INSTANCES, true), base: plain.base });
  await plain.close();
  const batch = {
    registrations: await httpRate(job("register", INSTANCES, false)),
    renewals: await httpRate(job("renew", INSTANCES * 2, false)),
  };
  return { api, batch, peer };
}

/** One backend: `nodeCount` registry nodes on the same storage; registrations go to the first. */
async function runBackend(
  label: string,
  storage: string,
  nodeCount: number,
  rounds: number,
  ttlMs: number,
  store: () => Promise<StoreRates>,
): Promise<Figures> {
  const storeRates = await store();
  console.log(
    `${label} store: ${storeRates.registrations} registrations/s, ${storeRates.renewals} renewals/s`,
  );
  const nodes: { runtime: Runtime; admin: ReturnType<typeof createAdminServer> }[] = [];
  for (let n = 0; n < nodeCount; n++) {
    const runtime = new Runtime(parseConfigText(registryYaml(storage), "bench.yaml"));
    await runtime.start();
    const admin = createAdminServer(runtime, {
      bind: { host: "127.0.0.1", port: 0 },
      token: TOKEN,
    });
    await admin.start();
    nodes.push({ runtime, admin });
  }
  const { api, batch, peer } = await httpFigures(nodes[0].admin.url());
  console.log(
    `${label} admin API: ${api.registrations} registrations/s (${ratio(api.registrations, peer)} of plain Node), ${api.renewals} renewals/s (${ratio(api.renewals, peer)}) (${CONNECTIONS} connections from a worker thread, ${INSTANCES} instances)`,
  );
  console.log(
    `${label} plain Node HTTP server (read JSON, answer 201), same client, same moment: ${peer} calls/s`,
  );
  console.log(
    `${label} admin API, POST /api/registry/batch of ${BATCH}: ${batch.registrations} registrations/s, ${batch.renewals} renewals/s (${BATCH_CONNECTIONS} connections)`,
  );

  const marker = { text: "" };
  const watchers: Watcher[] = [];
  for (const [n, node] of nodes.entries()) {
    const share = Math.floor(WATCHERS / nodes.length) + (n < WATCHERS % nodes.length ? 1 : 0);
    watchers.push(...(await openWatchers(node.admin.url(), TOKEN, "s0", share, marker)));
  }
  const registry: RegistryStorage = nodes[0].runtime.registry!.store;
  const seeRegistration: number[] = [];
  const seeExpiry: number[] = [];
  for (let round = 0; round < rounds; round++) {
    // A registration: from the call to the last watcher that has it.
    const id = `new-${round}`;
    for (const w of watchers) w.seenAt = 0;
    marker.text = `"${id}"`;
    const registeredAt = performance.now();
    const lease = await registry.register("s0", {
      host: "10.9.0.1",
      port: 1000 + round,
      id,
      ttlMs,
    });
    // The lease's end (etcd rounds TTLs up to whole seconds) on the performance clock.
    const leaseEndAt = performance.now() + (lease.expiresAt - Date.now());
    seeRegistration.push((await waitAllSeen(watchers)) - registeredAt);
    // Its expiry: from the lease's end to the last watcher that saw it leave.
    for (const w of watchers) w.seenAt = 0;
    marker.text = `"removed":["${id}"]`;
    seeExpiry.push((await waitAllSeen(watchers)) - leaseEndAt);
  }
  if (rounds > 0) {
    const where = nodes.length > 1 ? `, split over ${nodes.length} nodes` : "";
    console.log(
      `${label} registration → last of ${WATCHERS} watchers${where} (${INSTANCES} instances, ${rounds} rounds): ${show(seeRegistration)}`,
    );
    console.log(`${label} expiry → last of ${WATCHERS} watchers: ${show(seeExpiry)}`);
  }
  for (const node of nodes) {
    await node.admin.stop();
    await node.runtime.stop({ graceful: false });
  }
  return { store: storeRates, api, batch, peer, seeRegistration, seeExpiry };
}

/** The etcd backend on a fresh 3-member cluster, removed afterwards. */
async function runEtcd(): Promise<Figures> {
  const cluster: EtcdCluster = await startEtcdCluster(3);
  try {
    const endpoints = cluster.endpoints.map((e) => `'${e}'`).join(", ");
    // etcd's leases are whole seconds; 1 s is the shortest the bench cluster grants.
    return await runBackend(
      "etcd",
      `, storage: { etcd: { endpoints: [${endpoints}], prefix: '/bench/' } }`,
      2,
      ETCD_ROUNDS,
      1000,
      () => etcdStoreRates(cluster.endpoints, INSTANCES, SERVICES),
    );
  } finally {
    await cluster.stop();
  }
}

function printRatios(memory: Figures, etcd: Figures): void {
  const p50 = (v: number[]) => percentile(v, 50);
  const parts = [
    `store registrations ${ratio(etcd.store.registrations, memory.store.registrations)}`,
    `store renewals ${ratio(etcd.store.renewals, memory.store.renewals)}`,
    `API registrations ${ratio(etcd.api.registrations, memory.api.registrations)}`,
    `API renewals ${ratio(etcd.api.renewals, memory.api.renewals)}`,
    `batch registrations ${ratio(etcd.batch.registrations, memory.batch.registrations)}`,
    `batch renewals ${ratio(etcd.batch.renewals, memory.batch.renewals)}`,
  ];
  if (etcd.seeRegistration.length > 0 && memory.seeRegistration.length > 0) {
    parts.push(
      `registration → last watcher p50 ${ratio(p50(etcd.seeRegistration), p50(memory.seeRegistration))}`,
    );
  }
  console.log(`etcd / memory: ${parts.join(", ")}`);
}

async function main(): Promise<void> {
  const memory = BACKENDS.includes("memory")
    ? await runBackend("memory", "", 1, ROUNDS, 300, async () => memoryStoreRates(SERVICES))
    : undefined;
  const etcd = BACKENDS.includes("etcd") ? await runEtcd() : undefined;
  if (memory !== undefined && etcd !== undefined) printRatios(memory, etcd);
  process.exit(0);
}

await main();
