/** The L4 connection table and persistence bindings, seen through the admin API and `ballast ctl`. */
import assert from "node:assert/strict";
import { createSocket, type Socket as UdpSocket } from "node:dgram";
import { once } from "node:events";
import type { Socket } from "node:net";
import { after, test } from "node:test";
import { dial, namedEchoServer, readUntil } from "../l4/helpers.js";
import { ballastCtl, type CliResult } from "../support/ballast-cli.js";
import { runCleanups } from "../support/cleanups.js";
import { adminCall, type Stack, startBackend, startStack } from "./helpers.js";

const TOKEN = "tok";

const cleanups: (() => Promise<void> | void)[] = [];
after(() => runCleanups(cleanups));

/** `ballast ctl` against the stack's admin API, with its token. */
function ctl(stack: Stack, args: string[]): Promise<CliResult> {
  return ballastCtl(["--admin", stack.adminUrl, "--token", TOKEN, ...args]);
}

/** GETs an admin path with the token. */
// biome-ignore lint/suspicious/noExplicitAny: tests read the answers field by field
function get(stack: Stack, path: string): Promise<{ status: number; body: any }> {
  return adminCall(stack, "GET", path, undefined, TOKEN);
}

/** Polls an async condition every 50 ms, at most 300 times. */
async function pollUntil(what: string, condition: () => Promise<boolean>): Promise<void> {
  for (let i = 0; i < 300; i++) {
    if (await condition()) return;
    await new Promise((done) => setTimeout(done, 50));
  }
  assert.fail(`gave up waiting for ${what}`);
}

/** The one line of a ctl table that holds `needle`. */
function lineWith(table: string, needle: string): string {
  const line = table.split("\n").find((l) => l.includes(needle));
  assert.ok(line, `no line with ${needle} in:\n${table}`);
  return line;
}

/** A tcp client through the listener, with what it sent and received. */
interface TcpClient {
  socket: Socket;
  backend: string;
  sent: number;
  received: number;
}

async function udpEchoServer(): Promise<UdpSocket> {
  const server = createSocket("udp4");
  server.on("message", (message, remote) => server.send(message, remote.port, remote.address));
  await new Promise<void>((done) => server.bind(0, "127.0.0.1", done));
  return server;
}

test("the L4 connection table and persistence bindings are listed by the API and ctl", async () => {
  const a = await namedEchoServer("a");
  const b = await namedEchoServer("b");
  const udpEcho = await udpEchoServer();
  const web = await startBackend("w1");
  cleanups.push(
    a.close,
    b.close,
    web.close,
    () => new Promise<void>((r) => udpEcho.close(() => r())),
  );
  const stack = await startStack(
    [
      "listeners:",
      "  - { name: db, protocol: tcp, bind: '127.0.0.1:0', pool: db }",
      "  - { name: dns, protocol: udp, bind: '127.0.0.1:0', pool: dns, session_timeout: 2s }",
      "  - { name: web, protocol: http, bind: '127.0.0.1:0', default_pool: api, access_log: false }",
      "pools:",
      "  db:",
      "    algorithm: rr",
      "    persistence: 1m",
      "    backends:",
      `      - { name: a, address: "127.0.0.1:${a.port}" }`,
      `      - { name: b, address: "127.0.0.1:${b.port}" }`,
      "  dns:",
      `    backends: [{ name: echo, address: "127.0.0.1:${udpEcho.address().port}" }]`,
      "  api:",
      `    backends: [{ name: w1, address: "${web.address}" }]`,
      "log: { level: silent }",
      "",
    ].join("\n"),
    { token: TOKEN },
  );
  cleanups.unshift(() => stack.stop());
  const tcpPort = stack.runtime.listeners.get("db")!.address().port;
  const udpPort = stack.runtime.listeners.get("dns")!.address().port;

  // Three tcp connections, each with some bytes both ways. The name line arrives first.
  const clients: TcpClient[] = [];
  for (let i = 0; i < 3; i++) {
    const socket = await dial(tcpPort);
    const greeting = await readUntil(socket, (t) => t.includes("\n"));
    const message = `hello ${i} ${"x".repeat(100 * (i + 1))}\n`;
    socket.write(message);
    const echo = await readUntil(socket, (t) => t.endsWith(message));
    clients.push({
      socket,
      backend: greeting.split("\n")[0],
      sent: Buffer.byteLength(message),
      received: Buffer.byteLength(greeting + echo),
    });
  }
  cleanups.push(() => {
    for (const client of clients) client.socket.destroy();
  });
  // Persistence sends every connection of this client to the first one's backend.
  assert.ok(clients.every((c) => c.backend === clients[0].backend));
  const boundBackend = clients[0].backend;
  const boundAddress = `127.0.0.1:${boundBackend === "a" ? a.port : b.port}`;

  // Two udp sessions, kept alive (session_timeout is 2s) while the checks run.
  const udpClients: UdpSocket[] = [];
  for (let i = 0; i < 2; i++) {
    const client = createSocket("udp4");
    cleanups.push(() => new Promise<void>((r) => client.close(() => r())));
    await new Promise<void>((done) => client.bind(0, "127.0.0.1", done));
    client.send("ping", udpPort, "127.0.0.1");
    const [reply] = await once(client, "message", { signal: AbortSignal.timeout(5000) });
    assert.equal(String(reply), "ping");
    udpClients.push(client);
  }
  let keepAlive: NodeJS.Timeout | undefined = setInterval(() => {
    for (const client of udpClients) client.send("ping", udpPort, "127.0.0.1");
  }, 200);
  cleanups.push(() => clearInterval(keepAlive));

  // The API: each tcp row names the client's own address and port, the backend and the bytes.
  // The proxy read each message before forwarding it and wrote each answer before the
  // client read it, so the counters are final now.
  const db = await get(stack, "/api/listeners/db/connections");
  assert.equal(db.status, 200);
  assert.equal(db.body.listener, "db");
  assert.equal(db.body.protocol, "tcp");
  assert.equal(db.body.pool, "db");
  assert.equal(db.body.total, 3);
  assert.equal(db.body.truncated, false);
  for (const client of clients) {
    const row = db.body.rows.find(
      (r: { client: string }) => r.client === `127.0.0.1:${client.socket.localPort}`,
    );
    assert.ok(row, `no row for client port ${client.socket.localPort}`);
    assert.equal(row.backend, boundBackend);
    assert.equal(row.backendAddress, boundAddress);
    assert.equal(row.state, "established");
    assert.equal(row.bytesIn, client.sent);
    assert.equal(row.bytesOut, client.received);
    assert.ok(row.ageMs >= 0);
  }

  const dns = await get(stack, "/api/listeners/dns/connections");
  assert.equal(dns.status, 200);
  assert.equal(dns.body.protocol, "udp");
  assert.equal(dns.body.total, 2);
  for (const client of udpClients) {
    const row = dns.body.rows.find(
      (r: { client: string }) => r.client === `127.0.0.1:${client.address().port}`,
    );
    assert.ok(row, `no session for client port ${client.address().port}`);
    assert.equal(row.backend, "echo");
    assert.ok(row.bytesIn >= 4 && row.bytesIn % 4 === 0, `bytesIn ${row.bytesIn}`);
    assert.ok(row.bytesOut >= 4 && row.bytesOut <= row.bytesIn, `bytesOut ${row.bytesOut}`);
  }

  // Every listener with a table at once; the http listener keeps none.
  const all = await get(stack, "/api/connections");
  assert.equal(all.status, 200);
  assert.deepEqual(all.body.map((v: { listener: string }) => v.listener).sort(), ["db", "dns"]);

  // The answer is bounded, and says how much was left out.
  const limited = await get(stack, "/api/listeners/db/connections?limit=1");
  assert.equal(limited.body.rows.length, 1);
  assert.equal(limited.body.total, 3);
  assert.equal(limited.body.truncated, true);
  const allLimited = await get(stack, "/api/connections?limit=2");
  const shown = allLimited.body.reduce((n: number, v: { rows: unknown[] }) => n + v.rows.length, 0);
  assert.equal(shown, 2);
  assert.equal((await get(stack, "/api/connections?limit=many")).status, 400);

  // Unknown listeners, listeners without a table and missing tokens get JSON errors.
  const unknown = await get(stack, "/api/listeners/nope/connections");
  assert.equal(unknown.status, 404);
  assert.match(unknown.body.error, /no listener "nope"/);
  assert.deepEqual(unknown.body.listeners.sort(), ["db", "dns", "web"]);
  const http = await get(stack, "/api/listeners/web/connections");
  assert.equal(http.status, 404);
  assert.match(http.body.error, /keeps no connections table/);
  assert.equal((await get(stack, "/api/listeners/nope/persistence")).status, 404);
  assert.equal((await adminCall(stack, "GET", "/api/connections", undefined, null)).status, 401);
  assert.equal(
    (await adminCall(stack, "GET", "/api/listeners/db/persistence", undefined, null)).status,
    401,
  );

  // The real CLI: one ipvsadm -L -c -n style line per connection and session.
  const table = await ctl(stack, ["connections"]);
  assert.equal(table.code, 0, table.stderr);
  assert.match(
    table.stdout,
    /^Pro\s+Listener\s+State\s+Age\s+Idle\s+Client\s+Backend\s+BytesIn\s+BytesOut$/m,
  );
  for (const client of clients) {
    const cells = lineWith(table.stdout, `127.0.0.1:${client.socket.localPort}`).split(/\s+/);
    assert.deepEqual(cells.slice(0, 3), ["TCP", "db", "ESTABLISHED"]);
    assert.match(cells[3], /^\d\d:\d\d$/);
    assert.equal(cells[4], "-");
    assert.equal(cells[6], boundBackend);
    assert.equal(cells[7], `(${boundAddress})`);
    assert.deepEqual(cells.slice(8).map(Number), [client.sent, client.received]);
  }
  for (const client of udpClients) {
    const cells = lineWith(table.stdout, `127.0.0.1:${client.address().port}`).split(/\s+/);
    assert.deepEqual(cells.slice(0, 3), ["UDP", "dns", "SESSION"]);
    assert.match(cells[4], /^\d\d:\d\d$/);
    assert.equal(cells[6], "echo");
    assert.equal(cells[7], `(127.0.0.1:${udpEcho.address().port})`);
  }
  assert.match(table.stdout, /^db: 3 connections$/m);
  assert.match(table.stdout, /^dns: 2 connections$/m);

  const alias = await ctl(stack, ["conns", "db", "--json"]);
  assert.equal(alias.code, 0, alias.stderr);
  const parsed = JSON.parse(alias.stdout);
  assert.equal(parsed.length, 1);
  assert.equal(parsed[0].total, 3);
  const cut = await ctl(stack, ["connections", "db", "--limit", "2"]);
  assert.match(cut.stdout, /^db: 2 of 3 connections shown/m);
  const missing = await ctl(stack, ["connections", "nope"]);
  assert.equal(missing.code, 1);
  assert.match(missing.stderr, /no listener "nope" \(HTTP 404\)/);

  // Persistence: one binding for the client address, held open by its three connections.
  const bound = await get(stack, "/api/listeners/db/persistence");
  assert.equal(bound.status, 200);
  assert.equal(bound.body.total, 1);
  assert.deepEqual(bound.body.rows[0], {
    client: "127.0.0.1",
    backend: boundBackend,
    connections: 3,
    expiresInMs: -1,
    backendAddress: boundAddress,
  });
  const persistence = await ctl(stack, ["persistence"]);
  assert.equal(persistence.code, 0, persistence.stderr);
  assert.match(persistence.stdout, /^Pro\s+Listener\s+Pool\s+Client\s+Backend\s+Conns\s+Expires$/m);
  assert.deepEqual(lineWith(persistence.stdout, "TCP").split(/\s+/), [
    "TCP",
    "db",
    "db",
    "127.0.0.1",
    boundBackend,
    `(${boundAddress})`,
    "3",
    "in",
    "use",
  ]);

  // Closing everything empties the tables; the binding lingers and counts down.
  for (const client of clients) client.socket.destroy();
  clearInterval(keepAlive);
  keepAlive = undefined;
  await pollUntil(
    "the tcp table to empty",
    async () => (await get(stack, "/api/listeners/db/connections")).body.total === 0,
  );
  await pollUntil(
    "the udp sessions to time out",
    async () => (await get(stack, "/api/listeners/dns/connections")).body.total === 0,
  );
  const emptied = await ctl(stack, ["connections"]);
  assert.equal(emptied.code, 0, emptied.stderr);
  assert.doesNotMatch(emptied.stdout, /^(TCP|UDP) /m);
  assert.match(emptied.stdout, /^db: 0 connections$/m);
  assert.match(emptied.stdout, /^dns: 0 connections$/m);

  const lingering = await get(stack, "/api/listeners/db/persistence");
  assert.equal(lingering.body.rows[0].connections, 0);
  assert.ok(lingering.body.rows[0].expiresInMs > 0 && lingering.body.rows[0].expiresInMs <= 60_000);
  const countdown = await ctl(stack, ["persistence", "db"]);
  assert.match(lineWith(countdown.stdout, "TCP"), /\s0\s+00:[0-5]\d$|\s0\s+01:00$/);
});
