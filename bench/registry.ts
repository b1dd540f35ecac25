/**
 * The registry, in memory on one node and then in etcd shared by two nodes:
 * registrations/s and renewals/s (in the store, and over the admin API with 32 keep-alive
 * connections), and the time from a registration or an expiry to the last of 1,000
 * event-stream watchers seeing it, with 10,000 instances registered (10 services of 1,000;
 * the watchers watch one of them). With etcd, the bench starts a 3-member cluster on
 * loopback (Debian's etcd), registers on node A, and splits the watchers between nodes A
 * and B, so the figure includes etcd's watch from one node to the other. Nodes and watchers
 * run in this process, so their parsing counts against the figures. Ratios compare etcd
 * with memory in the same run.
 *
 * Usage: node dist/bench/registry.js [watchers] [instances] [rounds] [etcd rounds]
 *   BENCH_REGISTRY_BACKENDS=memory (or etcd) runs one backend only.
 */
import { type IncomingMessage, request } from "node:http";
import { Agent, Pool as UndiciPool } from "undici";
import { createAdminServer } from "../src/admin/server.js";
import { parseConfigText } from "../src/config/load.js";
import { EtcdRegistryStore } from "../src/registry/etcd-store.js";
import type { RegistryStorage } from "../src/registry/storage.js";
import { RegistryStore } from "../src/registry/store.js";
import { Runtime } from "../src/runtime/runtime.js";
import { type EtcdCluster, startEtcdCluster } from "../test/registry/etcd-cluster.js";

const WATCHERS = Number(process.argv[2] ?? 1000);
const INSTANCES = Number(process.argv[3] ?? 10_000);
const ROUNDS = Number(process.argv[4] ?? 50);
const ETCD_ROUNDS = Number(process.argv[5] ?? 10);
const BACKENDS = (process.env.BENCH_REGISTRY_BACKENDS ?? "memory,etcd").split(",");
const SERVICES = 10;
const TOKEN = "bench-token";

function rate(count: number, startedAt: bigint): number {
  return Math.round(count / (Number(process.hrtime.bigint() - startedAt) / 1e9));
}

function percentile(values: number[], p: number): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.ceil((p / 100) * sorted.length) - 1)];
}

/** The memory store alone: what the data structure costs, with no HTTP. */
function memoryStoreRates(): { registrations: number; renewals: number } {
  const store = new RegistryStore({ maxInstances: 1_000_000 });
  const count = 200_000;
  let started = process.hrtime.bigint();
  for (let i = 0; i < count; i++) {
    store.register(`s${i % SERVICES}`, {
      host: "10.0.0.1",
      port: 1 + (i % 60000),
      id: `i${i}`,
      ttlMs: 60_000,
    });
  }
  const registrations = rate(count, started);
  started = process.hrtime.bigint();
  for (let i = 0; i < count; i++) store.renew(`s${i % SERVICES}`, `i${i}`);
  const renewals = rate(count, started);
  store.close();
  return { registrations, renewals };
}

/** `total` calls of `call` with `concurrency` in flight. */
async function concurrentRate(
  total: number,
  concurrency: number,
  call: (i: number) => Promise<unknown>,
): Promise<number> {
  let next = 0;
  const started = process.hrtime.bigint();
  await Promise.all(
    Array.from({ length: concurrency }, async () => {
      while (next < total) await call(next++);
    }),
  );
  return rate(total, started);
}

/** The etcd store alone (no HTTP): each registration is a lease grant and a put; a renewal a keep-alive. */
async function etcdStoreRates(
  endpoints: string[],
): Promise<{ registrations: number; renewals: number }> {
  const store = new EtcdRegistryStore({
    etcd: { endpoints, prefix: "/bench-store/", timeout: 5000 },
    minTtlMs: 100,
    maxTtlMs: 3_600_000,
    maxInstances: 1_000_000,
  });
  await store.start();
  const count = Math.min(INSTANCES, 5000);
  const registrations = await concurrentRate(count, 64, (i) =>
    store.register(`s${i % SERVICES}`, {
      host: "10.0.0.1",
      port: 1 + i,
      id: `i${i}`,
      ttlMs: 600_000,
    }),
  );
  const renewals = await concurrentRate(count * 2, 256, async (i) => {
    if ((await store.renew(`s${i % SERVICES}`, `i${i % count}`)) === undefined) {
      throw new Error("a renewal found no lease");
    }
  });
  await store.close();
  return { registrations, renewals };
}

/** Over the admin API: `total` calls from `concurrency` loops. */
async function httpRate(
  pool: UndiciPool,
  total: number,
  concurrency: number,
  call: (i: number) => { method: "POST"; path: string; body?: string },
): Promise<number> {
  let next = 0;
  const started = process.hrtime.bigint();
  await Promise.all(
    Array.from({ length: concurrency }, async () => {
      while (next < total) {
        const i = next++;
        const { method, path, body } = call(i);
        const answer = await pool.request({
          method,
          path,
          body,
          headers: {
            authorization: `Bearer ${TOKEN}`,
            ...(body && { "content-type": "application/json" }),
          },
        });
        await answer.body.dump();
        if (answer.statusCode >= 300) throw new Error(`${path}: ${answer.statusCode}`);
      }
    }),
  );
  return rate(total, started);
}

interface Watcher {
  tail: string;
  seenAt: number;
}

/** Opens `count` event streams on a service; resolves once each has its snapshot. */
async function openWatchers(
  base: string,
  service: string,
  count: number,
  marker: { text: string },
): Promise<Watcher[]> {
  const agent = new (await import("node:http")).Agent({
    keepAlive: false,
    maxSockets: Number.POSITIVE_INFINITY,
  });
  const watchers: Watcher[] = [];
  // A hundred at a time: a thousand connects at once overflow the accept queue of a loaded
  // machine, and the resets would end the bench.
  for (let opened = 0; opened < count; opened += 100) {
    await openSome(Math.min(100, count - opened));
  }
  return watchers;

  function openSome(some: number): Promise<unknown> {
    return Promise.all(
      Array.from(
        { length: some },
        () =>
          new Promise<void>((resolve, reject) => {
            const watcher: Watcher = { tail: "", seenAt: 0 };
            watchers.push(watcher);
            const req = request(
              `${base}/api/registry/services/${service}/events`,
              { agent, headers: { authorization: `Bearer ${TOKEN}` } },
              (res: IncomingMessage) => {
                res.setEncoding("utf8");
                let ready = false;
                res.on("data", (chunk: string) => {
                  const text = watcher.tail + chunk;
                  if (!ready && text.includes("\n\n")) {
                    ready = true;
                    resolve();
                  }
                  if (marker.text !== "" && watcher.seenAt === 0 && text.includes(marker.text)) {
                    watcher.seenAt = performance.now();
                  }
                  watcher.tail = text.slice(-200);
                });
              },
            );
            req.on("error", reject);
            req.end();
          }),
      ),
    );
  }
}

async function waitAllSeen(watchers: Watcher[]): Promise<number> {
  for (;;) {
    let last = 0;
    let all = true;
    for (const w of watchers) {
      if (w.seenAt === 0) {
        all = false;
        break;
      }
      if (w.seenAt > last) last = w.seenAt;
    }
    if (all) return last;
    await new Promise((r) => setTimeout(r, 5));
  }
}

interface Figures {
  store: { registrations: number; renewals: number };
  api: { registrations: number; renewals: number };
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

/** One backend: `nodes` registry nodes on the same storage; registrations go to the first. */
async function runBackend(
  label: string,
  storage: string,
  nodeCount: number,
  rounds: number,
  ttlMs: number,
  store: () => Promise<{ registrations: number; renewals: number }>,
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
  const base = nodes[0].admin.url();
  // The admin API announces a 2 s keep-alive; undici's default 2 s margin would then never
  // reuse a connection, and the figure would be one of TCP handshakes.
  const pool = new UndiciPool(base, {
    connections: 32,
    pipelining: 1,
    keepAliveTimeoutThreshold: 500,
  });

  const registrations = await httpRate(pool, INSTANCES, 32, (i) => ({
    method: "POST",
    path: `/api/registry/services/s${i % SERVICES}/instances`,
    body: JSON.stringify({
      address: `10.0.${(i >> 8) & 255}.${i & 255}:8080`,
      id: `i${i}`,
      ttl: "10m",
    }),
  }));
  const renewals = await httpRate(pool, INSTANCES * 2, 32, (i) => ({
    method: "POST",
    path: `/api/registry/services/s${i % SERVICES}/instances/i${i % INSTANCES}/renew`,
  }));
  console.log(
    `${label} admin API: ${registrations} registrations/s, ${renewals} renewals/s (32 connections, ${INSTANCES} instances)`,
  );

  const marker = { text: "" };
  const watchers: Watcher[] = [];
  for (const [n, node] of nodes.entries()) {
    const share = Math.floor(WATCHERS / nodes.length) + (n < WATCHERS % nodes.length ? 1 : 0);
    watchers.push(...(await openWatchers(node.admin.url(), "s0", share, marker)));
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
  const where = nodes.length > 1 ? `, split over ${nodes.length} nodes` : "";
  console.log(
    `${label} registration → last of ${WATCHERS} watchers${where} (${INSTANCES} instances, ${rounds} rounds): ${show(seeRegistration)}`,
  );
  console.log(`${label} expiry → last of ${WATCHERS} watchers: ${show(seeExpiry)}`);

  await pool.close();
  for (const node of nodes) {
    await node.admin.stop();
    await node.runtime.stop({ graceful: false });
  }
  return { store: storeRates, api: { registrations, renewals }, seeRegistration, seeExpiry };
}

function show(values: number[]): string {
  return `p50 ${percentile(values, 50).toFixed(1)} ms, p99 ${percentile(values, 99).toFixed(1)} ms, max ${Math.max(...values).toFixed(1)} ms`;
}

function ratio(a: number, b: number): string {
  return `${(a / b).toFixed(2)}x`;
}

async function main(): Promise<void> {
  let memory: Figures | undefined;
  let etcd: Figures | undefined;
  if (BACKENDS.includes("memory")) {
    memory = await runBackend("memory", "", 1, ROUNDS, 300, async () => memoryStoreRates());
  }
  if (BACKENDS.includes("etcd")) {
    const cluster: EtcdCluster = await startEtcdCluster(3);
    try {
      const endpoints = cluster.endpoints.map((e) => `'${e}'`).join(", ");
      // etcd's leases are whole seconds; 1 s is the shortest the bench cluster grants.
      etcd = await runBackend(
        "etcd",
        `, storage: { etcd: { endpoints: [${endpoints}], prefix: '/bench/' } }`,
        2,
        ETCD_ROUNDS,
        1000,
        () => etcdStoreRates(cluster.endpoints),
      );
    } finally {
      await cluster.stop();
    }
  }
  if (memory !== undefined && etcd !== undefined) {
    const p50 = (v: number[]) => percentile(v, 50);
    console.log(
      [
        "etcd / memory:",
        `store registrations ${ratio(etcd.store.registrations, memory.store.registrations)},`,
        `store renewals ${ratio(etcd.store.renewals, memory.store.renewals)},`,
        `API registrations ${ratio(etcd.api.registrations, memory.api.registrations)},`,
        `API renewals ${ratio(etcd.api.renewals, memory.api.renewals)},`,
        `registration → last watcher p50 ${ratio(p50(etcd.seeRegistration), p50(memory.seeRegistration))}`,
      ].join(" "),
    );
  }
  await new Agent().close();
  process.exit(0);
}

await main();
