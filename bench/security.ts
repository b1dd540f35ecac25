/**
 * Cost of the limits checks made per connection, request or datagram: the allow/deny
 * lookup (IPv4, IPv4-mapped, IPv6) against lists of 10 and 1,000 blocks, a rate limiter
 * take over 10,000 clients, and a connection open/close. Garbage collections seen during
 * each measurement show whether the lookup allocates.
 *
 * Usage: npm run build && node dist/bench/security.js
 */
import { PerformanceObserver } from "node:perf_hooks";
import { AccessList } from "../src/security/address-matcher.js";
import { ConnectionLimiter } from "../src/security/connection-limiter.js";
import { RateLimiter } from "../src/security/rate-limiter.js";

const ITERATIONS = 5_000_000;
let collections = 0;
const observer = new PerformanceObserver((list) => {
  collections += list.getEntries().length;
});
observer.observe({ entryTypes: ["gc"] });

/** Runs `body` ITERATIONS times over `inputs`; prints ns per call and the GCs seen. */
async function measure<T>(label: string, inputs: T[], body: (input: T) => unknown): Promise<void> {
  let sink = 0;
  for (let i = 0; i < 200_000; i++) sink += body(inputs[i % inputs.length]) ? 1 : 0;
  await new Promise((resolve) => setImmediate(resolve));
  collections = 0;
  const start = process.hrtime.bigint();
  for (let i = 0; i < ITERATIONS; i++) sink += body(inputs[i % inputs.length]) ? 1 : 0;
  const ns = Number(process.hrtime.bigint() - start) / ITERATIONS;
  // GC entries are delivered asynchronously.
  await new Promise((resolve) => setTimeout(resolve, 50));
  console.log(
    `${label.padEnd(52)} ${ns.toFixed(1).padStart(6)} ns   gc: ${collections}  (${sink % 2})`,
  );
}

function blocks(count: number): string[] {
  const out: string[] = [];
  for (let i = 0; i < count; i++) out.push(`10.${(i >> 8) & 255}.${i & 255}.0/24`);
  return out;
}

const v4 = Array.from({ length: 1024 }, (_, i) => `10.${(i * 7) & 255}.${i & 255}.${i & 127}`);
const mapped = v4.map((a) => `::ffff:${a}`);
const v6 = Array.from(
  { length: 1024 },
  (_, i) => `2001:db8:${i.toString(16)}::${(i * 3).toString(16)}`,
);

for (const size of [10, 1000]) {
  const list = new AccessList([], [...blocks(size), "2001:db8:1::/48", "fd00::/8"]);
  await measure(`deny list of ${size} blocks, IPv4 peer`, v4, (a) => list.allows(a));
  await measure(`deny list of ${size} blocks, IPv4-mapped peer`, mapped, (a) => list.allows(a));
  await measure(`deny list of ${size} blocks, IPv6 peer`, v6, (a) => list.allows(a));
}
const clients = Array.from({ length: 10_000 }, (_, i) => `192.0.${(i >> 8) & 255}.${i & 255}`);
const limiter = new RateLimiter({ ratePerSecond: 1e9, burst: 10 });
await measure("rate limiter take, 10,000 clients", clients, (c) => limiter.take(c));
const connections = new ConnectionLimiter(100, 1_000_000);
await measure("connection limiter open + close", clients, (c) => {
  connections.open(c);
  connections.close(c);
  return true;
});
observer.disconnect();
