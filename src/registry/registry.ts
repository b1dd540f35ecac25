/** The registry of one ballast node: the store and its watches, built from `registry:`. */
import type { RegistryConfig } from "../config/schema/index.js";
import type { Logger } from "../log.js";
import { RegistryStore } from "./store.js";
import { WatchHub } from "./watch-hub.js";

/** A running registry; the admin API serves it. */
export class Registry {
  readonly store: RegistryStore;
  readonly watches: WatchHub;

  constructor(config: RegistryConfig, logger?: Logger) {
    const p = config.self_preservation;
    this.store = new RegistryStore({
      minTtlMs: config.min_ttl,
      maxTtlMs: config.max_ttl,
      maxInstances: config.max_instances,
      logger,
      selfPreservation:
        p === false
          ? undefined
          : {
              share: p.share,
              windowMs: p.window,
              keepForMs: p.keep_for,
              minInstances: p.min_instances,
            },
    });
    this.watches = new WatchHub(this.store, config.ping_interval);
  }

  /** Ends every watch and stops the expiry timer. */
  close(): void {
    this.watches.close();
    this.store.close();
  }
}
