/** Turns a validated config into live pools and listeners, and stops them again. */
import type { Config } from "../config/schema/index.js";
import type { Listener } from "../net/listener.js";
import { type Logger, silentLogger } from "../log.js";
import type { Pool } from "../pool/pool.js";
import { listenerFactories } from "./listener-factories.js";
import { createPoolFromConfig } from "./pools.js";

export interface RuntimeOptions {
  logger?: Logger;
}

/** The running balancer: its config, pools and listeners. */
export class Runtime {
  readonly pools = new Map<string, Pool>();
  readonly listeners = new Map<string, Listener>();
  readonly logger: Logger;
  config: Config;

  constructor(config: Config, options: RuntimeOptions = {}) {
    this.config = config;
    this.logger = options.logger ?? silentLogger;
    for (const [name, pool] of Object.entries(config.pools)) {
      this.pools.set(name, createPoolFromConfig(name, pool));
    }
    const context = { pools: this.pools, logger: this.logger };
    for (const listener of config.listeners) {
      this.listeners.set(listener.name, listenerFactories[listener.protocol](listener, context));
    }
  }

  /** Starts every listener; when one fails to bind, the others are stopped again. */
  async start(): Promise<void> {
    const started: Listener[] = [];
    try {
      for (const listener of this.listeners.values()) {
        await listener.start();
        started.push(listener);
        const { host, port } = listener.address();
        this.logger.info(
          { listener: listener.name, protocol: listener.protocol, host, port },
          "listening",
        );
      }
    } catch (error) {
      await Promise.all(started.map((listener) => listener.stop({ graceful: false })));
      throw error;
    }
  }

  /** Stops listeners (gracefully by default) and the pools' timers. */
  async stop(options: { graceful?: boolean; timeoutMs?: number } = {}): Promise<void> {
    await Promise.all([...this.listeners.values()].map((listener) => listener.stop(options)));
    for (const pool of this.pools.values()) pool.close();
  }
}
