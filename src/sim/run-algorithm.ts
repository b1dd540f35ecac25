/**
 * Runs one algorithm over a workload on the virtual clock, through a real Pool: each request
 * is `pool.acquire(key)` → `lease.established()` → `lease.release({ ok, latencyMs })`, so
 * connection-counting and latency-aware algorithms see what they would see live.
 */
import { algorithms, isAlgorithmName } from "../balancer/index.js";
import { seededRandom } from "../balancer/seeded-random.js";
import type { BackendState } from "../pool/backend.js";
import { Pool } from "../pool/pool.js";
import { EventQueue } from "./event-queue.js";
import type { Scenario } from "./scenario.js";
import { type SimRequest, SimulatedBackend } from "./simulated-backend.js";
import { keyStability, mean, percentile } from "./statistics.js";
import type { Workload } from "./workload.js";

/** What one algorithm did with the workload. */
export interface AlgorithmResult {
  algorithm: string;
  /** True for the hashing algorithms, whose key stability is reported. */
  usesKey: boolean;
  requests: number;
  /** Requests that failed: sent to a down backend, reset when it went down, or no backend. */
  failures: number;
  /** Of the failures, the requests for which the algorithm chose no backend at all. */
  noBackend: number;
  /** Latency of successful requests, queueing at the backend included (ms). */
  meanMs: number;
  p50Ms: number;
  p99Ms: number;
  maxMs: number;
  /** Share of requests sent to each backend (0..1), by backend id. */
  share: Record<string, number>;
  /** Most requests in service or queued at once, by backend id. */
  peakInFlight: Record<string, number>;
  /** Hash algorithms: share of repeated keys that always went to one backend; else null. */
  keyStability: number | null;
  /** Virtual times (ms) of the first and last failure; null when none failed. */
  firstFailureMs: number | null;
  lastFailureMs: number | null;
}

type SimEvent =
  | { time: number; kind: "arrival"; index: number }
  | { time: number; kind: "completion"; request: SimRequest; backend: number }
  | { time: number; kind: "down" | "up"; backend: number };

/** The balancer's own random stream, apart from the workload's. */
const BALANCER_STREAM = 0x27d4eb2f;

/** Runs `algorithm` over `workload`; deterministic for the scenario's seed. */
export function runAlgorithm(
  scenario: Scenario,
  workload: Workload,
  algorithm: string,
): AlgorithmResult {
  let now = 0;
  const specs = scenario.backends;
  const pool = new Pool(
    "sim",
    specs.map((b, i) => ({ id: b.id, host: "sim", port: i + 1, weight: b.weight })),
    { algorithm, clock: () => now, random: seededRandom(scenario.seed ^ BALANCER_STREAM) },
  );
  const indexOf = new Map<BackendState, number>(pool.backends.map((b, i) => [b, i]));
  const servers = specs.map(
    (spec) =>
      new SimulatedBackend(
        spec,
        scenario.slow.filter((w) => w.backend === spec.id),
        scenario.down.filter((w) => w.backend === spec.id),
      ),
  );
  const events = new EventQueue<SimEvent>();
  servers.forEach((server, backend) => {
    for (const w of server.downWindows) {
      events.push({ time: w.fromMs, kind: "down", backend });
      events.push({ time: w.toMs, kind: "up", backend });
    }
  });
  if (workload.count > 0) events.push({ time: workload.arrivalMs[0], kind: "arrival", index: 0 });

  const latencies = new Float64Array(workload.count);
  let succeeded = 0;
  let failures = 0;
  let noBackend = 0;
  let firstFailureMs: number | null = null;
  let lastFailureMs: number | null = null;
  const keyCounts = new Uint32Array(workload.keys.length * specs.length);

  const fail = (request: SimRequest | undefined) => {
    failures++;
    if (firstFailureMs === null) firstFailureMs = now;
    lastFailureMs = now;
    if (request === undefined) return;
    request.done = true;
    request.lease.release({ ok: false });
  };
  const schedule = (request: SimRequest, backend: number, serviceMs: number) => {
    if (serviceMs >= 0)
      events.push({ time: now + serviceMs, kind: "completion", request, backend });
  };

  for (let event = events.pop(); event !== undefined; event = events.pop()) {
    now = event.time;
    switch (event.kind) {
      case "arrival": {
        const i = event.index;
        if (i + 1 < workload.count) {
          events.push({ time: workload.arrivalMs[i + 1], kind: "arrival", index: i + 1 });
        }
        const key = workload.keyIndex[i];
        const lease = pool.acquire(workload.keys[key]);
        if (lease === undefined) {
          noBackend++;
          fail(undefined);
          break;
        }
        lease.established();
        const backend = indexOf.get(lease.backend) as number;
        keyCounts[key * specs.length + backend]++;
        const request: SimRequest = { index: i, lease, done: false };
        const server = servers[backend];
        if (server.down) {
          // Connection refused: the request fails at once and the backend is still counted.
          server.assigned++;
          fail(request);
          break;
        }
        schedule(request, backend, server.accept(request, workload, now));
        break;
      }
      case "completion": {
        const request = event.request;
        if (request.done) break;
        request.done = true;
        const latencyMs = now - workload.arrivalMs[request.index];
        latencies[succeeded++] = latencyMs;
        request.lease.release({ ok: true, latencyMs });
        const next = servers[event.backend].finish(request, workload, now);
        if (next) schedule(next.request, event.backend, next.serviceMs);
        break;
      }
      case "down":
        for (const request of servers[event.backend].fail()) fail(request);
        break;
      case "up":
        servers[event.backend].recover();
        break;
    }
  }
  pool.close();

  const sorted = latencies.slice(0, succeeded).sort();
  const share: Record<string, number> = {};
  const peakInFlight: Record<string, number> = {};
  servers.forEach((server) => {
    share[server.spec.id] = workload.count === 0 ? 0 : server.assigned / workload.count;
    peakInFlight[server.spec.id] = server.peakInFlight;
  });
  const usesKey = isAlgorithmName(algorithm) && algorithms[algorithm].usesKey;
  return {
    algorithm,
    usesKey,
    requests: workload.count,
    failures,
    noBackend,
    meanMs: mean(sorted),
    p50Ms: percentile(sorted, 0.5),
    p99Ms: percentile(sorted, 0.99),
    maxMs: sorted.length === 0 ? Number.NaN : sorted[sorted.length - 1],
    share,
    peakInFlight,
    keyStability: usesKey ? keyStability(keyCounts, specs.length) : null,
    firstFailureMs,
    lastFailureMs,
  };
}
