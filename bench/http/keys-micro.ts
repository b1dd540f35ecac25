/**
 * Per-request cost of the HTTP extras on the hot path: hashKeyOf for each key kind and the
 * sticky cookie lookup, in nanoseconds per call, on a request with a realistic header set.
 * Usage: node dist/bench/http/keys-micro.js
 */
import type { IncomingMessage } from "node:http";
import type { HashKeyConfig } from "../../src/config/schema/pool.js";
import { hashKeyOf } from "../../src/http/hash-key.js";
import { stickyBackendOf, stickyToken } from "../../src/http/sticky.js";
import { Pool } from "../../src/pool/pool.js";

const CALLS = 1_000_000;

const pool = new Pool(
  "bench",
  Array.from({ length: 8 }, (_, i) => ({ id: `b${i}`, host: "127.0.0.1", port: 9000 + i })),
);
const token = stickyToken(pool.backends[5]);
const rawHeaders = [
  "Host",
  "api.example.com:8080",
  "User-Agent",
  "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/120.0 Safari/537.36",
  "Accept",
  "text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8",
  "Accept-Language",
  "en-US,en;q=0.5",
  "Accept-Encoding",
  "gzip, deflate, br",
  "Cookie",
  `_ga=GA1.2.12345.67890; theme=dark; session=abcdef0123456789; SRV=${token}; lang=en`,
  "X-Tenant",
  "acme",
  "Connection",
  "keep-alive",
];
const req = {
  url: "/api/v1/items/42?page=3&user=alice&sort=desc",
  rawHeaders,
  socket: { remoteAddress: "::ffff:192.0.2.7", remotePort: 40123 },
} as unknown as IncomingMessage;

function time(label: string, call: () => unknown): void {
  let sink = 0;
  for (let i = 0; i < CALLS / 10; i++) sink += call() === undefined ? 0 : 1; // warm-up
  const start = process.hrtime.bigint();
  for (let i = 0; i < CALLS; i++) sink += call() === undefined ? 0 : 1;
  const ns = Number(process.hrtime.bigint() - start) / CALLS;
  if (sink === 0) throw new Error(`${label}: no key found`);
  console.log(`${label.padEnd(28)} ${ns.toFixed(1).padStart(7)} ns/call`);
}

const kinds: [string, HashKeyConfig][] = [
  ["client_ip", "client_ip"],
  ["client_ip_port", "client_ip_port"],
  ["url", "url"],
  ["path", "path"],
  ["host", "host"],
  ["header X-Tenant", { header: "x-tenant" }],
  ["cookie session", { cookie: "session" }],
  ["query user", { query: "user" }],
];
for (const [label, kind] of kinds) time(`hashKeyOf ${label}`, () => hashKeyOf(req, kind));
const sticky = { cookie: "SRV", httpOnly: true, secure: false };
time("stickyBackendOf", () => stickyBackendOf(req, pool, sticky));
