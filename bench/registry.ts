/**
 * The registry on one node: registrations/s and renewals/s (in the store, and over the admin
 * API with 32 keep-alive connections), and the time from a registration or an expiry to the
 * last of 1,000 event-stream watchers seeing it, with 10,000 instances registered (10
 * services of 1,000; the watchers watch one of them). Watchers run in this process, beside
 * the registry, so their parsing counts against the figures.
 *
 * Usage: node dist/bench/registry.js [watchers] [instances] [rounds]
 */
import { type IncomingMessage, request } from "node:http";
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
  await Promise.all(
    Array.from(
      { length: count },
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
    `admin API: ${registrations} registrations/s, ${renewals} renewals/s (32 connections, ${INSTANCES} instances)`,
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
  console.log(
    `registration → last of ${WATCHERS} watchers (${INSTANCES} instances, ${ROUNDS} rounds): ${show(seeRegistration)}`,
  );
  console.log(`expiry → last of ${WATCHERS} watchers: ${show(seeExpiry)}`);

  await pool.close();
  await admin.stop();
  await runtime.stop({ graceful: false });
  await new Agent().close();
  process.exit(0);
}

await main();
