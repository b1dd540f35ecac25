/** `ballast demo`: demo backends of different speeds and a balancer in front of them. */
import { randomBytes } from "node:crypto";
import { type AdminServer, createAdminServer } from "../admin/server.js";
import { createLogger } from "../log.js";
import { Runtime } from "../runtime/runtime.js";
import { parseArgs, UsageError } from "./args.js";
import { type DemoBackend, startDemoBackends } from "./demo-backends.js";
import { demoConfig, demoConfigText } from "./demo-config.js";
import { simulatePicks } from "./demo-simulation.js";
import { flushLogger, type Service, waitForShutdown } from "./shutdown.js";

/** Runs the demo until SIGINT/SIGTERM; returns the exit status. */
export async function runDemo(args: readonly string[]): Promise<number> {
  const parsed = parseArgs(args, {
    port: { short: "p" },
    host: {},
    "admin-port": {},
    "show-config": { boolean: true },
  });
  const port = portFlag(parsed.flags.port, 8080, "--port");
  const adminPort = portFlag(parsed.flags["admin-port"], 9090, "--admin-port");
  const host = typeof parsed.flags.host === "string" ? parsed.flags.host : "127.0.0.1";

  const backends = await startDemoBackends();
  const config = demoConfig(backends, host, port);
  if (parsed.flags["show-config"]) console.log(demoConfigText(backends, host, port));
  const logger = createLogger(config.log.level);
  const services: Service[] = [{ name: "demo backends", stop: () => closeAll(backends) }];

  let runtime: Runtime;
  try {
    runtime = new Runtime(config, { logger });
    await runtime.start();
  } catch (error) {
    if (/EADDRINUSE/.test(String((error as Error).message))) {
      console.error(
        `ballast demo: ${host}:${port} is in use; try --port ${port + 1} (or 0 for any)`,
      );
      await closeAll(backends);
      await flushLogger(logger);
      return 1;
    }
    // Without a working HTTP data plane, show the algorithms' decisions instead.
    console.log(`The balancer could not listen: ${(error as Error).message}`);
    console.log("Here is what each demo pool picks for 18 requests arriving 4 ms apart:");
    const delays = new Map(backends.map((b) => [b.name, b.delayMs]));
    for (const line of simulatePicks(config, delays)) console.log(line);
    await closeAll(backends);
    await flushLogger(logger);
    return 0;
  }
  services.push({ name: "runtime", stop: () => runtime.stop({ graceful: true, timeoutMs: 5000 }) });

  // A newcomer can try ctl and the dashboard at once; the token keeps other local users'
  // processes and web pages from changing the demo.
  const token = randomBytes(24).toString("base64url");
  let admin: AdminServer;
  try {
    admin = await startDemoAdmin(
      runtime,
      adminPort,
      parsed.flags["admin-port"] === undefined,
      token,
    );
  } catch (error) {
    console.error(`ballast demo: could not start the admin API: ${(error as Error).message}`);
    await runtime.stop({ graceful: false });
    await closeAll(backends);
    await flushLogger(logger);
    return 1;
  }
  services.push({ name: "admin", stop: () => admin.stop() });

  const listener = [...runtime.listeners.values()][0];
  const bound = listener.address();
  const base = `http://${bound.host.includes(":") ? `[${bound.host}]` : bound.host}:${bound.port}`;
  console.log(describeDemo(base, backends, admin.url(), token));
  const status = await waitForShutdown(services, logger);
  await flushLogger(logger);
  return status;
}

/** The admin API on loopback; the default port falls back to any free one when taken. */
async function startDemoAdmin(
  runtime: Runtime,
  port: number,
  mayMove: boolean,
  token: string,
): Promise<AdminServer> {
  const admin = createAdminServer(runtime, { bind: { host: "127.0.0.1", port }, token });
  try {
    await admin.start();
    return admin;
  } catch (error) {
    if (!mayMove || (error as NodeJS.ErrnoException).code !== "EADDRINUSE") throw error;
  }
  const moved = createAdminServer(runtime, { bind: { host: "127.0.0.1", port: 0 }, token });
  await moved.start();
  return moved;
}

function portFlag(value: string | true | undefined, fallback: number, name: string): number {
  const port = Number(value ?? fallback);
  if (value === true || !Number.isInteger(port) || port < 0 || port > 65535) {
    throw new UsageError(`${name} wants a port number from 0 to 65535 (got ${value})`);
  }
  return port;
}

function describeDemo(
  base: string,
  backends: readonly DemoBackend[],
  adminUrl: string,
  token: string,
): string {
  const speeds = backends.map((b) => `${b.name} ${b.delayMs} ms (127.0.0.1:${b.port})`).join(", ");
  return [
    `ballast demo is listening on ${base}`,
    `backends: ${speeds}`,
    "",
    "Try:",
    `  for i in $(seq 6); do curl -s ${base}/; done                 # wrr 3:2:1`,
    `  for i in $(seq 6); do curl -s ${base}/lc & done; wait        # least connections`,
    `  curl -s -H 'X-User: alice' ${base}/hash                       # maglev on X-User`,
    `  for i in $(seq 6); do curl -s ${base}/ewma; done             # least latency (peak EWMA)`,
    "",
    `Admin API on ${adminUrl} (token generated for this run):`,
    `  ballast ctl --admin ${adminUrl} --token ${token} list`,
    `  ballast ctl --admin ${adminUrl} --token ${token} disable weighted slow`,
    `  dashboard: open ${adminUrl}/#token=${token}`,
    "",
    "Ctrl-C stops (in-flight requests finish first).",
  ].join("\n");
}

async function closeAll(backends: readonly DemoBackend[]): Promise<void> {
  await Promise.all(backends.map((backend) => backend.close()));
}
