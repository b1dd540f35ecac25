/** `ballast start --config FILE`: load the config, run the balancer until a signal stops it. */

import cluster from "node:cluster";
import { adminOptionsFromConfig, createAdminServer } from "../admin/server.js";
import { ConfigError, loadConfigFile } from "../config/load.js";
import { type Config, publicAdminWarning } from "../config/schema/index.js";
import { createLogger, type Logger } from "../log.js";
import { answerCachePurges } from "../runtime/cache-purge-ipc.js";
import { ClusterHub } from "../runtime/cluster-primary.js";
import { followPrimary, inheritedConfig } from "../runtime/cluster-worker.js";
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
    // A worker forked after a reload starts from the config the primary runs now.
    config = await ((cluster.isWorker ? inheritedConfig() : undefined) ?? loadConfigFile(file));
  } catch (error) {
    if (!(error instanceof ConfigError)) throw error;
    console.error(error.message);
    return 1;
  }
  const logger = createLogger(config.log.level);
  if (config.workers > 1 && cluster.isPrimary) return runPrimary(config, file, logger);
  const inCluster = config.workers > 1;
  if (inCluster) {
    // Ctrl-C reaches every process of the group; the primary then sends each worker SIGTERM.
    // Counting both would turn a graceful stop into an immediate one, so workers wait for
    // the primary's SIGTERM only. Reloads come from the primary too, which reads the file
    // first and sends it on: a SIGHUP to the whole group must not reload twice.
    process.on("SIGINT", () => {});
    process.on("SIGHUP", () => {});
  }
  const runtime = new Runtime(config, {
    logger,
    configFile: file,
    cluster: inCluster ? { role: "worker" } : undefined,
  });
  // Services stop in reverse order: what is added later (the admin API) stops first.
  const services: Service[] = [];
  try {
    if (inCluster) {
      // The primary's health verdicts and admin changes are in force before the first request.
      const follower = await followPrimary(runtime);
      services.push({ name: "cluster", stop: async () => follower.close() });
    }
    await runtime.start();
  } catch (error) {
    logger.error({ err: error }, "could not start");
    await flushLogger(logger);
    console.error(`ballast: could not start: ${(error as Error).message}`);
    return 1;
  }
  // With workers, purges through the primary's admin API reach this worker's cache zones.
  if (inCluster) answerCachePurges(runtime.caches);
  services.unshift({
    name: "runtime",
    stop: () => runtime.stop({ graceful: true, timeoutMs: GRACEFUL_STOP_MS }),
  });
  if (!inCluster) {
    const admin = await startAdmin(runtime, config, logger);
    if (admin === undefined) return 1;
    if (admin !== "off") services.push(admin);
    listenForHangup(runtime, file, logger, services);
    if (!(await startHaHealthFile(runtime, config, services))) {
      for (const service of services.reverse()) await service.stop();
      return 1;
    }
  }
  logger.info({ config: file, pools: runtime.pools.size }, "ballast started");
  const status = await waitForShutdown(services, logger, inCluster ? ["SIGTERM"] : undefined);
  await flushLogger(logger);
  return status;
}

/**
 * Starts the admin API when the config has one: "off" without, undefined when it could not
 * start (the runtime is then stopped and the reason printed).
 */
async function startAdmin(
  runtime: Runtime,
  config: Config,
  logger: Logger,
): Promise<Service | "off" | undefined> {
  if (config.admin === undefined) return "off";
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
    return undefined;
  }
  return { name: "admin", stop: () => admin.stop() };
}

/** SIGHUP reloads the file; a bad file is logged and refused, the running config stays. */
function listenForHangup(runtime: Runtime, file: string, logger: Logger, services: Service[]) {
  const onHangup = () => {
    logger.info({ config: file }, "SIGHUP: reloading");
    void reloadFromFile(runtime, file).catch((error: unknown) => {
      logger.error({ err: error }, "reload failed");
    });
  };
  process.on("SIGHUP", onHangup);
  services.push({ name: "sighup", stop: async () => void process.off("SIGHUP", onHangup) });
}

/**
 * Keeps keepalived's health file when the config has an `ha:` section. Added last, so it
 * stops first: the VIPs leave before the listeners close.
 */
async function startHaHealthFile(
  runtime: Runtime,
  config: Config,
  services: Service[],
): Promise<boolean> {
  if (config.ha === undefined) return true;
  const healthFile = new HaHealthFile(runtime, config.ha);
  try {
    await healthFile.start();
  } catch (error) {
    console.error(`ballast: ${(error as Error).message}`);
    return false;
  }
  services.push({ name: "ha", stop: () => stopHealthFile(healthFile, config.ha?.advert_interval) });
  return true;
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
 * The primary of `workers: N`: it runs the control runtime (pools, health checks, registry,
 * no data plane) and the admin API for the whole balancer, forks the workers and keeps them
 * in step (cluster-primary.ts); workers.ts restarts a worker that dies and passes
 * SIGTERM/SIGINT on. SIGHUP reloads here, and the reload goes on to every worker. The
 * primary also keeps the HA health file: it owns the pools' verdicts.
 */
async function runPrimary(config: Config, file: string, logger: Logger): Promise<number> {
  const hub = new ClusterHub(logger);
  const runtime = new Runtime(config, {
    logger,
    configFile: file,
    cluster: {
      role: "primary",
      listener: hub.listenerFactory,
      reloadWorkers: (origin) => hub.reloadWorkers(origin),
    },
  });
  hub.attach(runtime);
  await runtime.start();
  const admin = await startAdmin(runtime, config, logger);
  if (admin === undefined) {
    hub.close();
    return 1;
  }
  const services: Service[] = [];
  listenForHangup(runtime, file, logger, services);
  if (!(await startHaHealthFile(runtime, config, services))) {
    for (const service of services) await service.stop();
    if (admin !== "off") await admin.stop();
    hub.close();
    await runtime.stop({ graceful: false });
    return 1;
  }
  const role = startWorkers(config.workers, logger, () => hub.forkEnvironment());
  if (role.role !== "primary") throw new Error("startWorkers: expected the primary");
  const ok = await role.done;
  for (const service of services) await service.stop();
  if (admin !== "off") await admin.stop();
  hub.close();
  await runtime.stop({ graceful: false });
  logger.info("every worker has stopped");
  await flushLogger(logger);
  if (!ok) console.error("ballast: a worker could not start; see the log");
  return ok ? 0 : 1;
}
