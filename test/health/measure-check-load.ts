/**
 * Measures what active checks cost the event loop the data planes share: N backends checked
 * every 100 ms for 3 s, with the loop delay that a proxied request would have waited.
 * Not a test (never asserts on time). Run after building:
 *   node dist/test/health/measure-check-load.js <backends> <tcp|exec|ping>
 */
import { createServer } from "node:net";
import { monitorEventLoopDelay } from "node:perf_hooks";
import { healthCheckSchema } from "../../src/config/schema/health.js";
import { startPoolHealth } from "../../src/health/index.js";
import { silentLogger } from "../../src/log.js";
import { Pool } from "../../src/pool/pool.js";

const backends = Number(process.argv[2] ?? 500);
const type = process.argv[3] ?? "tcp";
const server = createServer((socket) => socket.on("error", () => {}));
await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
const address = server.address();
const port = typeof address === "object" && address ? address.port : 0;
const pool = new Pool(
  "measure",
  Array.from({ length: backends }, (_, i) => ({ id: `b${i}`, host: "127.0.0.1", port })),
  { algorithm: "wrr" },
);
let checks = 0;
const section = type === "exec" ? { type, command: ["true"] } : { type };
const health = startPoolHealth(
  pool,
  healthCheckSchema.parse({ ...section, interval: 100, timeout: 1000 }),
  silentLogger,
  { onResult: () => checks++ },
);
await new Promise((resolve) => setTimeout(resolve, 500));
checks = 0;
const delay = monitorEventLoopDelay({ resolution: 1 });
delay.enable();
await new Promise((resolve) => setTimeout(resolve, 3000));
delay.disable();
const ms = (ns: number) => Math.round(ns / 1e4) / 100;
console.log(
  JSON.stringify({
    type,
    backends,
    intervalMs: 100,
    checksPerSecond: Math.round(checks / 3),
    loopDelayP50Ms: ms(delay.percentile(50)),
    loopDelayP99Ms: ms(delay.percentile(99)),
    loopDelayMaxMs: ms(delay.max),
    markedDown: pool.backends.filter((b) => b.health === "down").length,
  }),
);
health.stop();
pool.close();
server.close();
