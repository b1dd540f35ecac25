/** `ballast start --config FILE`: load the config, run the balancer until a signal stops it. */

import cluster from "node:cluster";
import { adminOptionsFromConfig, createAdminServer } from "../admin/server.js";
import { ConfigError, loadConfigFile } from "../config/load.js";
import { publicAdminWarning } from "../config/schema/index.js";
import { createLogger, type Logger } from "../log.js";
import { HaHealthFile } from "../runtime/ha-health-file.js";
import { reloadFromFile } from "../runtime/reload.js";
import { Runtime } from "../runtime/runtime.js";
import { startWorkers } from "../runtime/workers.js";
import { parseArgs, requireFlag } from "./args.js";
import { flushLogger, type Service, waitForShutdown } from "./shutdown.js";

/** How long in-flight work may take to finish after SIGTERM before it is cut (ms). */
const GRACEFUL_STOP_MS = 30_000;

/** Runs the balancer; resolves with the exit status once it has stopped. */
export async function runStart(args: readonly string[]): Promise<number> {
  const parsed = parseArgs(args, { config: { short: "c" } });
  const file = requireFlag(parsed, "config", "ballast start --config ballast.yaml");

  let config: Awaited<ReturnType<typeof loadConfigFile>>;
  try {
    config = await loadConfigFile(file);
  } catch (error) {
    if (!(error instanceof ConfigError)) throw error;
    console.error(error.message);
    return 1;
  }
  const logger = createLogger(config.log.level);
  const role = startWorkers(config.workers, logger);
  if (role.role === "primary") return superviseWorkers(role.done, logger);
  const inCluster = config.workers > 1;
  if (inCluster) {
    // Ctrl-C reaches every process of the group; the primary then sends each worker SIGTERM.
    // Counting both would turn a graceful stop into an immediate one, so workers wait for
    // the primary's SIGTERM only.
    process.on("SIGINT", () => {});
  }
  const runtime = new Runtime(config, { logger, configFile: file });
  try {
    await runtime.start();
  } catch (error) {
    logger.error({ err: error }, "could not start");
    await flushLogger(logger);
    console.error(`ballast: could not start: ${(error as Error).message}`);
    return 1;
  }

  // Services stop in reverse order: what is added later (the admin API) stops first.
  const services: Service[] = [
    { name: "runtime", stop: () => runtime.stop({ graceful: true, timeoutMs: GRACEFUL_STOP_MS }) },
  ];
  if (config.admin !== undefined && inCluster) {
    // Each worker holds its own pools; an admin API answering from one of them at random
    // would show and change one worker's state. Until workers share state, it stays off.
    logger.warn("the admin API is not started with workers > 1");
  } else if (config.admin !== undefined) {
    const warning = publicAdminWarning(config.admin);
    if (warning !== undefined) {
      // Loud on purpose: the log may go to a file nobody reads, the terminal does not.
      logger.warn({ admin: config.admin.bind }, warning);
      console.error(`ballast: WARNING: ${warning}`);
    }
    const admin = createAdminServer(runtime, adminOptionsFromConfig(config.admin));
    try {
      await admin.start();
    } catch (error) {
      await runtime.stop({ graceful: false });
      console.error(`ballast: could not start the admin API: ${(error as Error).message}`);
      return 1;
    }
    services.push({ name: "admin", stop: () => admin.stop() });
  }
  // SIGHUP reloads the file; a bad file is logged and refused, the running config stays.
  const onHangup = () => {
    logger.info({ config: file }, "SIGHUP: reloading");
    void reloadFromFile(runtime, file).catch((error: unknown) => {
      logger.error({ err: error }, "reload failed");
    });
  };
  process.on("SIGHUP", onHangup);
  services.push({ name: "sighup", stop: async () => void process.off("SIGHUP", onHangup) });
  if (config.ha !== undefined) {
    // Last in, so first to stop: the VIPs leave before the listeners close.
    const healthFile = new HaHealthFile(runtime, config.ha);
    try {
      await healthFile.start();
    } catch (error) {
      await runtime.stop({ graceful: false });
      console.error(`ballast: ${(error as Error).message}`);
      return 1;
    }
    services.push({
      name: "ha",
      stop: () => stopHealthFile(healthFile, config.ha?.advert_interval),
    });
  }

  logger.info({ config: file, pools: runtime.pools.size }, "ballast started");
  const status = await waitForShutdown(services, logger, inCluster ? ["SIGTERM"] : undefined);
  await flushLogger(logger);
  return status;
}

/**
 * Tells keepalived this director is stopping, then waits about one VRRP advertisement, the
 * time the peer needs to take the VIPs over, so new connections find it rather than a closed
 * listener.
 */
async function stopHealthFile(file: HaHealthFile, advertMs = 1000): Promise<void> {
  await file.stop();
  await new Promise((resolve) => setTimeout(resolve, Math.min(advertMs, 5000)));
}

/**
 * The primary of `workers: N`: workers.ts forks and restarts them and passes SIGTERM/SIGINT
 * on; SIGHUP is passed on here so each worker reloads the file itself.
 */
async function superviseWorkers(done: Promise<boolean>, logger: Logger): Promise<number> {
  const onHangup = () => {
    for (const worker of Object.values(cluster.workers ?? {})) worker?.process.kill("SIGHUP");
  };
  process.on("SIGHUP", onHangup);
  const ok = await done;
  process.off("SIGHUP", onHangup);
  logger.info("every worker has stopped");
  await flushLogger(logger);
  if (!ok) console.error("ballast: a worker could not start; see the log");
  return ok ? 0 : 1;
}
