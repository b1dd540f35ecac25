/**
 * The admin API says why a backend is down, as HAProxy's stats page does: the last check's
 * status, code and duration ("L7STS/500 in 1ms"), consecutive successes and failures, when
 * it was checked and when it changed, time in the state and downtime; sessions and queue
 * (current, max, limit), bytes, errors by kind, per-pool totals; and /api/stats exports it
 * all as JSON and CSV. Real checks against real loopback backends.
 */
import assert from "node:assert/strict";
import { createServer, type Server } from "node:http";
import {
  type AddressInfo,
  createServer as createTcpServer,
  type Server as TcpServer,
} from "node:net";
import { after, before, test } from "node:test";
import { waitFor } from "../support/wait.js";
import { adminCall, type Stack, startBackend, startStack, type TestBackend } from "./helpers.js";

const TOKEN = "stats-test-token";

let stack: Stack;
let healthy: TestBackend;
let failing: Server;
let resetting: TcpServer;
let closedPort: number;

function listen(server: Server | TcpServer): Promise<number> {
  return new Promise((resolve) =>
    server.listen(0, "127.0.0.1", () => resolve((server.address() as AddressInfo).port)),
  );
}

before(async () => {
  healthy = await startBackend("ok");
  failing = createServer((_req, res) => res.writeHead(500).end("broken"));
  const failingPort = await listen(failing);
  // Accepts, reads the request, and resets: a failure after the connection opened.
  resetting = createTcpServer((socket) => socket.once("data", () => socket.resetAndDestroy()));
  const resettingPort = await listen(resetting);
  const probe = createTcpServer();
  closedPort = await listen(probe);
  await new Promise<void>((resolve) => probe.close(() => resolve()));
  const yaml = `
listeners:
  - name: web
    protocol: http
    bind: "127.0.0.1:0"
    default_pool: api
    access_log: false
    routes:
      - { match: { path_prefix: /refused }, pool: refused }
      - { match: { path_prefix: /reset }, pool: reset }
pools:
  api:
    health_check: { type: http, path: /, interval: 50ms, timeout: 1s, rise: 2, fall: 1 }
    backends:
      - { name: ok, address: "${healthy.address}", max_connections: 50 }
      - { name: five-hundred, address: "127.0.0.1:${failingPort}" }
      - { name: closed, address: "127.0.0.1:${closedPort}" }
  refused:
    backends: [{ name: nobody, address: "127.0.0.1:${closedPort}" }]
  reset:
    backends: [{ name: resetter, address: "127.0.0.1:${resettingPort}" }]
admin: { bind: "127.0.0.1:0", token: "${TOKEN}" }
log: { level: silent }
`;
  stack = await startStack(yaml, { token: TOKEN });
  const api = () => stack.runtime.healthChecks("api");
  await waitFor("checks of every api backend", () =>
    api().every((check) => check.checks >= 2 && check.lastStatus !== "INI"),
  );
  for (let i = 0; i < 3; i++) await (await fetch(`${stack.webUrl}/hello`)).text();
  await (await fetch(`${stack.webUrl}/refused`)).text();
  await (await fetch(`${stack.webUrl}/reset`)).text();
});

after(async () => {
  await stack?.stop();
  await healthy?.close();
  failing?.close();
  resetting?.close();
});

// biome-ignore lint/suspicious/noExplicitAny: the test reads the answer field by field
async function backendsOf(pool: string): Promise<Record<string, any>> {
  const { status, body } = await adminCall(stack, "GET", `/api/pools/${pool}`, undefined, TOKEN);
  assert.equal(status, 200);
  return Object.fromEntries(body.backends.map((b: { id: string }) => [b.id, b]));
}

test("a backend answering 500 to its check shows L7STS/500 and its duration", async () => {
  const { "five-hundred": b } = await backendsOf("api");
  assert.equal(b.health, "down");
  assert.equal(b.status, "DOWN");
  assert.equal(b.check.status, "L7STS");
  assert.equal(b.check.code, 500);
  assert.equal(typeof b.check.durationMs, "number");
  assert.match(b.check.summary, /^L7STS\/500 in \d+ms$/);
  assert.equal(b.check.lastDetail, "status 500");
  assert.ok(b.check.consecutiveFailures >= 2, `consecutiveFailures ${b.check.consecutiveFailures}`);
  assert.equal(b.check.consecutiveSuccesses, 0);
  assert.ok(b.check.failedChecks >= 2);
  assert.equal(b.check.downTransitions, 1);
  assert.ok(Date.parse(b.check.lastCheckAt) > 0, b.check.lastCheckAt);
  assert.ok(Date.parse(b.check.lastChangeAt) > 0, b.check.lastChangeAt);
  assert.ok(Date.parse(b.stateSince) > 0);
  assert.equal(typeof b.stateSeconds, "number");
  assert.equal(typeof b.downtimeSeconds, "number");
});

test("a closed port shows L4CON; a healthy backend L7OK with its successes", async () => {
  const backends = await backendsOf("api");
  assert.equal(backends.closed.check.status, "L4CON");
  assert.equal(backends.closed.check.code, null);
  assert.match(backends.closed.check.summary, /^L4CON in \d+ms$/);
  assert.equal(backends.ok.check.status, "L7OK");
  assert.equal(backends.ok.check.code, 200);
  assert.equal(backends.ok.status, "UP");
  assert.ok(backends.ok.check.consecutiveSuccesses >= 2);
  assert.equal(backends.ok.check.consecutiveFailures, 0);
  assert.equal(backends.ok.check.lastChangeAt, null, "never changed: it started up");
});

test("sessions, queue, bytes and errors by kind per backend, and totals per pool", async () => {
  const { ok } = await backendsOf("api");
  assert.equal(ok.requests, 3);
  assert.deepEqual(ok.sessions, { current: 0, max: 1, limit: 50 });
  assert.deepEqual(ok.queue, { current: 0, max: 1 });
  assert.ok(ok.bytesOut > 0, "the answers' bytes are counted");
  const { nobody } = await backendsOf("refused");
  assert.ok(nobody.errors.connect >= 1, JSON.stringify(nobody.errors));
  assert.equal(nobody.errors.response, 0);
  const { resetter } = await backendsOf("reset");
  assert.ok(resetter.errors.response >= 1, JSON.stringify(resetter.errors));
  assert.equal(resetter.errors.connect, 0);

  const { body: pool } = await adminCall(stack, "GET", "/api/pools/api", undefined, TOKEN);
  assert.equal(pool.totals.backends, 3);
  assert.equal(pool.totals.up, 1);
  assert.equal(pool.totals.requests, 3);
  assert.equal(pool.totals.bytesOut, ok.bytesOut);
});

test("GET /api/stats exports every backend and a total row per pool, as JSON and CSV", async () => {
  const json = await adminCall(stack, "GET", "/api/stats", undefined, TOKEN);
  assert.equal(json.status, 200);
  const row = json.body.find((r: { backend: string }) => r.backend === "five-hundred");
  assert.equal(row.pool, "api");
  assert.equal(row.check_status, "L7STS");
  assert.equal(row.check_code, 500);
  assert.ok(
    json.body.some(
      (r: { pool: string; backend: string }) => r.pool === "reset" && r.backend === "TOTAL",
    ),
  );

  const response = await fetch(`${stack.adminUrl}/api/stats?format=csv`, {
    headers: { authorization: `Bearer ${TOKEN}` },
  });
  assert.equal(response.status, 200);
  assert.match(response.headers.get("content-type") ?? "", /^text\/csv/);
  const lines = (await response.text()).trimEnd().split("\r\n");
  const header = lines[0].split(",");
  const rows = lines.slice(1).map((line) => line.split(","));
  assert.equal(rows.length, json.body.length);
  const column = (name: string) => header.indexOf(name);
  const csvRow = rows.find((r) => r[column("backend")] === "five-hundred")!;
  assert.equal(csvRow[column("check_status")], "L7STS");
  assert.equal(csvRow[column("check_code")], "500");
  assert.equal(csvRow[column("status")], "DOWN");
  const okRow = rows.find((r) => r[column("backend")] === "ok")!;
  assert.equal(okRow[column("stot")], "3");
  assert.equal(okRow[column("slim")], "50");

  const bad = await adminCall(stack, "GET", "/api/stats?format=xml", undefined, TOKEN);
  assert.equal(bad.status, 400);
});

test("CSV cells from outside are quoted and cannot run as spreadsheet formulas", async () => {
  const pool = stack.runtime.pools.get("refused")!;
  pool.add({ id: '=HYPERLINK("x"),1', host: "127.0.0.1", port: closedPort, source: "registry" });
  try {
    const response = await fetch(`${stack.adminUrl}/api/stats?format=csv`, {
      headers: { authorization: `Bearer ${TOKEN}` },
    });
    const text = await response.text();
    assert.ok(text.includes(`,"'=HYPERLINK(""x""),1",`), text);
  } finally {
    pool.remove('=HYPERLINK("x"),1');
  }
});
