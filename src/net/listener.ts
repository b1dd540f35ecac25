/** The contract every data plane's listener implements, and what the runtime hands it. */
import type { CacheZone } from "../cache/zone.js";
import type { ListenerConfig } from "../config/schema/index.js";
import type { Logger } from "../log.js";
import type { PoolLookup } from "../pool/pool.js";

export type { PoolLookup };

/** What a listener gets from the runtime. */
export interface ListenerContext {
  pools: PoolLookup;
  logger: Logger;
  /** The HTTP cache zones by name, which routes' `cache` options use. */
  caches?: ReadonlyMap<string, CacheZone>;
}

/** A live listener of one data plane (http, tcp, udp, dns, kernel). */
export interface Listener {
  readonly name: string;
  readonly protocol: ListenerConfig["protocol"];
  /** Binds and starts accepting. Rejects with a clear error when the address is taken. */
  start(): Promise<void>;
  /**
   * Applies a changed config of the same listener (routes, timeouts, limits) in place,
   * keeping open connections. A changed `bind` or `protocol` is a remove and an add instead.
   */
  update(config: ListenerConfig): void;
  /**
   * Stops accepting. Graceful: in-flight work finishes (idle keep-alive connections close)
   * until `timeoutMs`, after which what remains is closed.
   */
  stop(options?: { graceful?: boolean; timeoutMs?: number }): Promise<void>;
  /** The bound address (the real port when the config said 0). */
  address(): { host: string; port: number };
  /** Counters for the admin API and metrics. */
  stats(): Record<string, number>;
  /**
   * The connection table, for data planes that keep one (tcp: open connections; udp:
   * sessions): one plain object per entry, ready for JSON.
   */
  connections?(): object[];
  /**
   * Closes the open connections of `pool` that go to `backendId` (a drain's cap ran out);
   * returns how many. Data planes without long-lived connections leave it out.
   */
  closeConnectionsTo?(pool: string, backendId: string): number;
  /**
   * Persistence bindings (client address → backend, open connections, ms left) for data
   * planes whose pool keeps them (tcp): one plain object per binding, ready for JSON.
   */
  persistence?(): object[];
  /** kernel: the virtual service with its real servers and conntrack's connection counts. */
  virtualService?(): VirtualServiceView;
  /** dns: each zone's record sets, pool-backed ones with what each region gets now. */
  zones?(): object[];
  /** dns: answers since the start by zone and RCODE name, by region, and by record. */
  answerCounts?(): {
    zones: Record<string, Record<string, number>>;
    regions: Record<string, number>;
    records?: { zone: string; name: string; type: string; answers: number }[];
  };
}

/** A kernel virtual service as `ctl list` shows it, like a service of `ipvsadm -L -n`. */
export interface VirtualServiceView {
  listener: string;
  mode: string;
  transport: string;
  address: string;
  scheduler: string;
  /** LVS persistence in seconds; 0 = off. */
  persistenceSeconds: number;
  servers: {
    id: string;
    address: string;
    /** ipvsadm's Forward column: Masq (NAT) or Route (DR). */
    forward: string;
    weight: number;
    active: number;
    inactive: number;
  }[];
}

/** Makes a listener of one protocol. */
export type ListenerFactory = (config: ListenerConfig, context: ListenerContext) => Listener;
