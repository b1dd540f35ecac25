/** Graceful shutdown on SIGTERM/SIGINT: finish in-flight work, then exit; a second signal exits at once. */
import type { Logger } from "../log.js";

/** Something that runs until the process stops: the runtime, the admin API, demo backends. */
export interface Service {
  readonly name: string;
  stop(): Promise<void>;
}

/**
 * Resolves with exit status 0 once a SIGTERM or SIGINT has stopped every service in reverse
 * order of registration. A second signal while stopping exits at once with 128 + signal.
 */
export function waitForShutdown(
  services: readonly Service[],
  logger: Logger,
  signals: readonly NodeJS.Signals[] = ["SIGTERM", "SIGINT"],
): Promise<number> {
  return new Promise((resolve) => {
    let stopping = false;
    const onSignal = (signal: NodeJS.Signals) => {
      if (stopping) {
        logger.warn({ signal }, "second signal: exiting at once");
        process.exit(signal === "SIGINT" ? 130 : 143);
      }
      stopping = true;
      logger.info(
        { signal },
        "stopping: finishing in-flight work (send the signal again to exit at once)",
      );
      stopAll(services, logger).then(
        () => {
          for (const signal of signals) process.off(signal, onSignal);
          logger.info("stopped");
          resolve(0);
        },
        (error: unknown) => {
          logger.error({ err: error }, "error while stopping");
          resolve(1);
        },
      );
    };
    for (const signal of signals) process.on(signal, onSignal);
  });
}

async function stopAll(services: readonly Service[], logger: Logger): Promise<void> {
  for (const service of [...services].reverse()) {
    await service.stop();
    logger.debug({ service: service.name }, "service stopped");
  }
}

/** Waits until the logger has written what it buffered. */
export function flushLogger(logger: Logger): Promise<void> {
  return new Promise((resolve) => {
    try {
      logger.flush(() => resolve());
    } catch {
      resolve();
    }
  });
}
