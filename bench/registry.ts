/**
 * The registry on one node: registrations/s and renewals/s (in the store, and over the admin
 * API with 32 keep-alive connections), and the time from a registration or an expiry to the
 * last of 1,000 event-stream watchers seeing it, with 10,000 instances registered (10
 * services of 1,000; the watchers watch one of them). Watchers run in this process, beside
 * the registry, so their parsing counts against the figures.
 *
 * The HTTP load comes from a worker thread, and the same load against a plain Node HTTP
 * server (the peer: the most any registry over Node's HTTP can do) gives the ratio.
 *
 * Usage: node dist/bench/registry.js [watchers] [instances] [rounds]
 */
import { createServer, type IncomingMessage, request } from "node:http";
import type { AddressInfo } from "node:net";
import { isMainThread, parentPort, Worker, workerData } from "node:worker_threads";
import { Agent, Pool as UndiciPool } from "undici";
import { createAdminServer } from "../src/admin/server.js";
import { parseConfigText } from "../src/config/load.js";
import { RegistryStore } from "../src/registry/store.js";
import { Runtime } from "../src/runtime/runtime.js";

const WATCHERS = Number(process.argv[2] ?? 1000);
const INSTANCES = Number(process.argv[3] ?? 10_000);
const ROUNDS = Number(process.argv[4] ?? 50);
const SERVICES = 10;
const TOKEN = "bench-token";

function rate(count: number, startedAt: bigint): number {
  return Math.round(count / (Number(process.hrtime.bigint() - startedAt) / 1e9));
}

function percentile(values: number[], p: number): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.ceil((p / 100) * sorted.length) - 1)];
}

/** The store alone: what the data structure costs, with no HTTP. */
function storeRates(): { registrations: number; renewals: number } {
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

type CallKind = "register" | "renew";

/** What a load worker is asked to do. */
interface LoadJob {
  base: string;
  kind: CallKind;
  total: number;
  /** Instances registered before (renewals cycle through them). */
  instances: number;
  concurrency: number;
  /** Instances per call: 1 for one call each, more for POST /api/registry/batch. */
  batch: number;
}

/** The registration of instance i. */
function registration(i: number) {
  return { address: `10.0.${(i >> 8) & 255}.${i & 255}:8080`, id: `i${i}`, ttl: "10m" };
}

/** One call of a kind: registrations spread over the services, renewals over the instances. */
function callOf(job: LoadJob, call: number): { path: string; body?: string } {
  const { kind, instances, batch } = job;
  if (batch > 1) {
    const items = Array.from({ length: batch }, (_, k) => call * batch + k);
    const body =
      kind === "register"
        ? // New instances, after the ones registered one by one.
          {
            register: items.map((i) => ({
              service: `s${i % SERVICES}`,
              ...registration(instances + i),
            })),
          }
        : { renew: items.map((i) => ({ service: `s${i % SERVICES}`, id: `i${i % instances}` })) };
    return { path: "/api/registry/batch", body: JSON.stringify(body) };
  }
  const i = call;
  if (kind === "register") {
    return {
      path: `/api/registry/services/s${i % SERVICES}/instances`,
      body: JSON.stringify(registration(i)),
    };
  }
  return { path: `/api/registry/services/s${i % SERVICES}/instances/i${i % instances}/renew` };
}

/** In a worker thread: `total` instances from `concurrency` loops over keep-alive connections. */
async function runLoad(job: LoadJob): Promise<number> {
  // undici's defaults, as instances use them: the admin API's keep-alive outlasts its margin.
  const pool = new UndiciPool(job.base, { connections: job.concurrency, pipelining: 1 });
  let next = 0;
  const started = process.hrtime.bigint();
  await Promise.all(
    Array.from({ length: job.concurrency }, async () => {
      while (next < job.total / job.batch) {
        const { path, body } = callOf(job, next++);
        const answer = await pool.request({
          method: "POST",
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
  const result = rate(job.total, started);
  await pool.close();
  return result;
}

/**
 * Calls per second against `base`, from a worker thread: the load generator gets its own
 * event loop, so the server's thread runs only the server.
 */
function httpRate(job: LoadJob): Promise<number> {
  const worker = new Worker(new URL(import.meta.url), { workerData: job });
  return new Promise((resolve, reject) => {
    worker.once("message", (value: number) => resolve(value));
    worker.once("error", reject);
    worker.once("exit", (code) => {
      if (code !== 0) reject(new Error(`load worker exited with ${code}`));
    });
  });
}

/**
 * The peer: a plain Node HTTP server that reads the JSON body, parses it and answers 201
 * with a small JSON object. No registry can answer over Node's HTTP faster than this.
 */
async function plainNodeServer(): Promise<{ base: string; close(): Promise<void> }> {
  const server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on("data", (chunk: Buffer) => chunks.push(chunk));
    req.on("end", () => {
      const text = Buffer.concat(chunks).toString();
      const parsed = text === "" ? {} : (JSON.parse(text) as { id?: string });
      const answer = JSON.stringify({ id: parsed.id ?? "x", expiresAt: Date.now() + 600_000 });
      res.writeHead(201, {
        "content-type": "application/json",
        "content-length": Buffer.byteLength(answer),
      });
      res.end(answer);
    });
  });
  server.keepAliveTimeout = 35_000;
  await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
  const { port } = server.address() as AddressInfo;
  return {
    base: `http://127.0.0.1:${port}`,
    close: () => new Promise((r) => server.close(() => r())),
  };
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
  const open = (watcher: Watcher) =>
    new Promise<void>((resolve, reject) => {
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
    });
  const watchers: Watcher[] = [];
  // A hundred at a time, each tried up to three times: a burst of a thousand connections
  // overflows the listen backlog of a loaded machine, which is not what is measured here.
  for (let first = 0; first < count; first += 100) {
    const group = Array.from({ length: Math.min(100, count - first) }, () => ({
      tail: "",
      seenAt: 0,
    }));
    await Promise.all(
      group.map(async (watcher) => {
        for (let attempt = 1; ; attempt++) {
          try {
            await open(watcher);
            return;
          } catch (error) {
            if (attempt >= 3) throw error;
            watcher.tail = "";
          }
        }
      }),
    );
    watchers.push(...group);
  }
  return watchers;
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

async function main(): Promise<void> {
  const store = storeRates();
  console.log(
    `store: ${store.registrations} registrations/s, ${store.renewals} renewals/s (200,000 of each, one thread)`,
  );

  const config = parseConfigText(
    [
      "listeners:",
      "  - { name: web, protocol: http, bind: '127.0.0.1:0', default_pool: none, access_log: false }",
      "pools:",
      "  none: {}",
      `registry: { max_instances: ${INSTANCES * 4}, self_preservation: false }`,
      "log: { level: silent }",
      "",
    ].join("\n"),
    "bench.yaml",
  );
  const runtime = new Runtime(config);
  await runtime.start();
  const admin = createAdminServer(runtime, { bind: { host: "127.0.0.1", port: 0 }, token: TOKEN });
  await admin.start();
  const base = admin.url();
  const connections = 32;
  const registrations = await httpRate({
    base,
    kind: "register",
    total: INSTANCES,
    instances: INSTANCES,
    concurrency: connections,
    batch: 1,
  });
  const renewals = await httpRate({
    base,
    kind: "renew",
    total: INSTANCES * 2,
    instances: INSTANCES,
    concurrency: connections,
    batch: 1,
  });
  const BATCH = 100;
  const batchedRegistrations = await httpRate({
    base,
    kind: "register",
    total: INSTANCES,
    instances: INSTANCES,
    concurrency: 8,
    batch: BATCH,
  });
  const batchedRenewals = await httpRate({
    base,
    kind: "renew",
    total: INSTANCES * 2,
    instances: INSTANCES * 2,
    concurrency: 8,
    batch: BATCH,
  });
  const plain = await plainNodeServer();
  const plainRate = await httpRate({
    base: plain.base,
    kind: "register",
    total: INSTANCES,
    instances: INSTANCES,
    concurrency: connections,
    batch: 1,
  });
  await plain.close();
  const ratio = (value: number) => (value / plainRate).toFixed(2);
  console.log(
    `admin API: ${registrations} registrations/s, ${renewals} renewals/s (${connections} connections from a worker thread, ${INSTANCES} instances)`,
  );
  console.log(
    `admin API, POST /api/registry/batch of ${BATCH}: ${batchedRegistrations} registrations/s, ${batchedRenewals} renewals/s (8 connections)`,
  );
  console.log(
    `plain Node HTTP server (read JSON, answer 201), same client: ${plainRate} calls/s; registrations ${ratio(registrations)}x, renewals ${ratio(renewals)}x of it`,
  );

  const marker = { text: "" };
  const watchers = await openWatchers(base, "s0", WATCHERS, marker);
  const registry = runtime.registry!;
  const seeRegistration: number[] = [];
  const seeExpiry: number[] = [];
  for (let round = 0; round < ROUNDS; round++) {
    // A registration: from the call to the last watcher that has it.
    const id = `new-${round}`;
    for (const w of watchers) w.seenAt = 0;
    marker.text = `"${id}"`;
    const registeredAt = performance.now();
    registry.store.register("s0", { host: "10.9.0.1", port: 1000 + round, id, ttlMs: 300 });
    seeRegistration.push((await waitAllSeen(watchers)) - registeredAt);
    // Its expiry: from the lease's end to the last watcher that saw it leave.
    for (const w of watchers) w.seenAt = 0;
    marker.text = `"removed":["${id}"]`;
    const expiresAt = registeredAt + 300;
    seeExpiry.push((await waitAllSeen(watchers)) - expiresAt);
  }
  const show = (values: number[]) =>
    `p50 ${percentile(values, 50).toFixed(1)} ms, p99 ${percentile(values, 99).toFixed(1)} ms, max ${Math.max(...values).toFixed(1)} ms`;
  if (ROUNDS === 0) {
    await admin.stop();
    await runtime.stop({ graceful: false });
    process.exit(0);
  }
  console.log(
    `registration → last of ${WATCHERS} watchers (${INSTANCES} instances, ${ROUNDS} rounds): ${show(seeRegistration)}`,
  );
  console.log(`expiry → last of ${WATCHERS} watchers: ${show(seeExpiry)}`);

  await admin.stop();
  await runtime.stop({ graceful: false });
  await new Agent().close();
  process.exit(0);
}

if (isMainThread) await main();
else parentPort!.postMessage(await runLoad(workerData as LoadJob));
