/** The registry of one ballast node: its storage and its watches, built from `registry:`. */
import type { RegistryConfig } from "../config/schema/index.js";
import type { Logger } from "../log.js";
import { EtcdRegistryStore } from "./etcd-store.js";
import type { RegistryStorage, SelfPreservation } from "./storage.js";
import { RegistryStore } from "./store.js";
import { WatchHub } from "./watch-hub.js";

/** A running registry; the admin API serves it. */
export class Registry {
  /** In this node's memory, or in etcd (`storage: { etcd }`); the same interface either way. */
  readonly store: RegistryStorage;
  readonly watches: WatchHub;

  constructor(config: RegistryConfig, logger?: Logger) {
    const p = config.self_preservation;
    const selfPreservation: SelfPreservation | undefined =
      p === false
        ? undefined
        : {
            share: p.share,
            windowMs: p.window,
            keepForMs: p.keep_for,
            minInstances: p.min_instances,
          };
    const limits = {
      minTtlMs: config.min_ttl,
      maxTtlMs: config.max_ttl,
      maxInstances: config.max_instances,
      logger,
      selfPreservation,
    };
    this.store =
      config.storage?.etcd === undefined
        ? new RegistryStore(limits)
        : new EtcdRegistryStore({ ...limits, etcd: config.storage.etcd });
    this.watches = new WatchHub(this.store, config.ping_interval);
  }

  /** Loads the storage (etcd: every instance, then a watch); fails when it cannot. */
  start(): Promise<void> {
    return this.store.start();
  }

  /** Ends every watch, then stops the storage's timers and connections. */
  async close(): Promise<void> {
    this.watches.close();
    await this.store.close();
  }
}
