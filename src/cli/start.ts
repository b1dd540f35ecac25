/** `ballast start --config FILE`: load the config, run the balancer until a signal stops it. */

import { adminOptionsFromConfig, createAdminServer } from "../admin/server.js";
import { ConfigError, loadConfigFile } from "../config/load.js";
import { createLogger } from "../log.js";
import { reloadFromFile } from "../runtime/reload.js";
import { Runtime } from "../runtime/runtime.js";
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
  if (config.admin !== undefined) {
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

  logger.info({ config: file, pools: runtime.pools.size }, "ballast started");
  const status = await waitForShutdown(services, logger);
  await flushLogger(logger);
  return status;
}
