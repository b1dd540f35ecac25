/**
 * `protocol: kernel` listeners: an LVS virtual service whose packets the kernel rewrites
 * (nat: DNAT; dr: a new destination MAC; tun: the same, sent into a VXLAN tunnel), scheduled
 * by nftables from the pool's live members.
 * The listener reads its pool (membership, health, drain, weights: the pool is the source of
 * truth) and hands the result to the controller, which writes every service in one transaction.
 * It keeps a snapshot of the service's connections (conntrack for NAT, the flow sets for DR/TUN)
 * for the connection-count schedulers and `ballast ctl`.
 */
import { isIP } from "node:net";
import { isSchedulable } from "../balancer/index.js";
import {
  type KernelListenerConfig,
  type ListenerConfig,
  tunnelSchema,
} from "../config/schema/index.js";
import type { Listener, ListenerContext, VirtualServiceView } from "../net/listener.js";
import { type BackendState, formatHostPort } from "../pool/backend.js";
import type { Pool, PoolEvent } from "../pool/pool.js";
import { forgetServerFlows, isActive, readConntrack } from "./conntrack.js";
import { type KernelService, kernelController } from "./controller.js";
import {
  type ConnectionCount,
  countsConnections,
  isKernelAlgorithm,
  planDispatch,
  type RealServer,
} from "./dispatch.js";
import { deviceMac, neighbourMacs, provokeArp } from "./neighbours.js";
import { listSet, readCounter } from "./nft.js";
import { closingSet, counterName, flowSet, type ServiceRules, serviceKey } from "./ruleset.js";
import { tunnelDevice, tunnelMac } from "./tunnels.js";

/** ipvsadm's Forward column by mode. */
const FORWARD = { nat: "Masq", dr: "Route", tun: "Tunnel" } as const;

/** The longest gap between two refreshes of the connection snapshot and the ruleset. */
const MAX_TICK_MS = 1000;
/**
 * Reading the connection snapshot (conntrack, or nft listing the DR flow sets) costs in
 * proportion to the connections, and it takes CPU from the packets it counts: after a read
 * that took `t`, the next waits at least `t` times this, so it never takes more than 1/20 of
 * the time (a read of 100 ms: every 2 s).
 */
const SNAPSHOT_COST_FACTOR = 20;

/** One connection of the service, as `ctl connections` lists it. */
interface ConnectionRow {
  transport: string;
  client: string;
  backend: string | null;
  state: string;
  expiresInMs: number;
}

/** The real servers a kernel service may use now: schedulable primaries, else backups. */
export function liveServers(pool: Pool): BackendState[] {
  const members = pool.backends.filter((b) => isSchedulable(b) && isIP(b.host) === 4);
  const primaries = members.filter((b) => !b.backup);
  return primaries.length > 0 ? primaries : members;
}

class KernelListener implements Listener, KernelService {
  readonly name: string;
  readonly protocol = "kernel" as const;
  private config: KernelListenerConfig;
  private readonly context: ListenerContext;
  private readonly key: string;
  private readonly seed: number;
  private subscribed: { pool: Pool; unsubscribe: () => void } | undefined;
  private tick: NodeJS.Timeout | undefined;
  private counts = new Map<string, ConnectionCount>();
  private rows: ConnectionRow[] = [];
  private newConnections = 0;
  private expectedNew = 1;
  /** The counts the connection-count schedulers plan with, renewed every reweight_interval. */
  private planningCounts = new Map<string, ConnectionCount>();
  private lastReweight = 0;
  /** When the connection snapshot may be read again (see SNAPSHOT_COST_FACTOR). */
  private nextSnapshot = 0;
  private arrivedSinceReweight = 0;
  private macs = new Map<string, string>();
  /** dr: the director's MAC, and the device it was read from (an update may change it). */
  private directorMac: { device: string; mac: string } | undefined;
  private started = false;

  constructor(config: KernelListenerConfig, context: ListenerContext) {
    this.name = config.name;
    this.config = config;
    this.context = context;
    this.key = serviceKey(config.name);
    this.seed = Number.parseInt(this.key.slice(-8), 16);
  }

  async start(): Promise<void> {
    if (this.config.mode !== "nat") {
      if (this.config.interface === undefined) {
        throw new Error(
          `kernel listener "${this.name}": mode ${this.config.mode} needs an interface`,
        );
      }
      await this.learnDeviceMac();
      await this.learnMacs();
    }
    this.follow();
    await kernelController.add(this);
    this.started = true;
    kernelController.logger ??= this.context.logger;
    this.schedule();
  }

  update(config: ListenerConfig): void {
    if (config.protocol !== "kernel") return;
    this.config = config;
    this.follow();
    kernelController.requestSync();
  }

  async stop(): Promise<void> {
    if (this.tick !== undefined) clearTimeout(this.tick);
    this.tick = undefined;
    this.subscribed?.unsubscribe();
    this.subscribed = undefined;
    if (!this.started) return;
    this.started = false;
    // Established connections keep their conntrack NAT binding; only new ones stop.
    await kernelController.remove(this);
  }

  address(): { host: string; port: number } {
    return this.config.bind;
  }

  stats(): Record<string, number> {
    let active = 0;
    let inactive = 0;
    for (const count of this.counts.values()) {
      active += count.active;
      inactive += count.inactive;
    }
    return {
      newConnections: this.newConnections,
      activeConnections: active,
      inactiveConnections: inactive,
      transactions: kernelController.counters.transactions,
      refusedTransactions: kernelController.counters.refused,
    };
  }

  connections(): object[] {
    return this.rows;
  }

  virtualService(): VirtualServiceView {
    const pool = this.pool();
    return {
      listener: this.name,
      mode: this.config.mode,
      transport: this.config.transport,
      address: formatHostPort(this.config.bind.host, this.config.bind.port),
      scheduler: pool?.algorithm ?? "-",
      persistenceSeconds: Math.round((pool?.persistenceMs ?? 0) / 1000),
      servers: (pool?.backends ?? []).map((backend) => ({
        id: backend.id,
        address: formatHostPort(backend.host, backend.port),
        forward: FORWARD[this.config.mode],
        weight: isSchedulable(backend) ? backend.configuredWeight : 0,
        active: this.counts.get(backend.id)?.active ?? 0,
        inactive: this.counts.get(backend.id)?.inactive ?? 0,
      })),
    };
  }

  private async learnDeviceMac(): Promise<void> {
    const device = this.config.mode === "dr" ? this.config.interface : undefined;
    if (device === undefined || this.directorMac?.device === device) return;
    this.directorMac = { device, mac: await deviceMac(device) };
  }

  /** KernelService: this service's rules from the pool as it is now. */
  async rules(): Promise<ServiceRules> {
    if (this.config.mode === "dr") await this.learnDeviceMac();
    // A tunnel MAC needs no neighbour: a server added since the last tick joins at once.
    if (this.config.mode === "tun") await this.learnMacs();
    const pool = this.pool();
    const algorithm = pool?.algorithm ?? "rr";
    let live = pool === undefined ? [] : liveServers(pool);
    if (this.config.mode !== "nat") live = live.filter((b) => this.macs.has(b.id));
    const servers: RealServer[] = live.map(realServer);
    if (!isKernelAlgorithm(algorithm)) {
      throw new Error(
        `kernel listener "${this.name}": pool algorithm ${algorithm} cannot run in nftables`,
      );
    }
    return {
      key: this.key,
      mode: this.config.mode,
      transport: this.config.transport,
      vip: this.config.bind.host,
      port: this.config.bind.port,
      dispatch: planDispatch(algorithm, servers, this.planningCounts, this.expectedNew),
      servers,
      persistenceSeconds: Math.ceil((pool?.persistenceMs ?? 0) / 1000),
      seed: this.seed,
      masquerade: this.config.masquerade,
      device: this.config.interface,
      deviceMac: this.directorMac?.mac,
      macs: this.macs,
      tunnel: this.tunnel(),
      flowTimeoutSeconds: this.flowTimeoutSeconds(),
      flowServers: this.flowServers(pool),
    };
  }

  /** tun: the director's VXLAN device of the service (made by the controller). */
  private tunnel(): ServiceRules["tunnel"] {
    if (this.config.mode !== "tun") return undefined;
    const { vni, port, mtu } = tunnelSchema.parse(this.config.tunnel ?? {});
    return { device: tunnelDevice(vni), vni, port, mtu };
  }

  private flowTimeoutSeconds(): number {
    return Math.max(1, Math.ceil(this.config.flow_timeout / 1000));
  }

  /** DR, TUN: the servers whose established flows go on: up (drained ones too), MAC known. */
  private flowServers(pool: Pool | undefined): RealServer[] {
    if (this.config.mode === "nat" || pool === undefined) return [];
    return pool.backends
      .filter((b) => b.health === "up" && isIP(b.host) === 4 && this.macs.has(b.id))
      .map(realServer);
  }

  private pool(): Pool | undefined {
    return this.context.pools.get(this.config.pool);
  }

  /** Subscribes to the pool's changes (again when a reload swapped the pool). */
  private follow(): void {
    const pool = this.pool();
    if (this.subscribed?.pool === pool) return;
    this.subscribed?.unsubscribe();
    this.subscribed =
      pool === undefined
        ? undefined
        : { pool, unsubscribe: pool.onEvent((event) => this.onPoolEvent(event)) };
  }

  /**
   * Any change rewrites the rules. NAT: a server that went down or left also loses its
   * tracked connections, once the dispatch no longer names it (IPVS's expire_nodest_conn);
   * a drained one keeps them, so its established connections finish.
   */
  private onPoolEvent(event: PoolEvent): void {
    const gone = (event.type === "health" && event.health === "down") || event.type === "removed";
    if (!gone || this.config.mode !== "nat") {
      kernelController.requestSync();
      return;
    }
    const { host, port } = event.backend;
    void kernelController
      .sync()
      .then(() =>
        forgetServerFlows({
          transport: this.config.transport,
          vip: this.config.bind.host,
          vipPort: this.config.bind.port,
          server: host,
          serverPort: port,
        }),
      )
      .catch((error: Error) =>
        this.context.logger.warn(
          { listener: this.name, backend: event.backend.id, error: error.message },
          "kernel: could not drop a gone server's connections",
        ),
      );
  }

  private tickMs(): number {
    return Math.min(MAX_TICK_MS, Math.max(50, this.config.reweight_interval));
  }

  /** Every tick: fresh connection counts, then a transaction if anything changed. */
  private schedule(): void {
    this.tick = setTimeout(async () => {
      try {
        this.follow();
        if (this.config.mode !== "nat") await this.learnMacs();
        if (Date.now() >= this.nextSnapshot) {
          const started = Date.now();
          await this.refreshConnections();
          this.nextSnapshot = Date.now() + (Date.now() - started) * (SNAPSHOT_COST_FACTOR - 1);
        }
        kernelController.requestSync();
      } catch (error) {
        this.context.logger.warn(
          { listener: this.name, error: (error as Error).message },
          "kernel listener refresh failed",
        );
      }
      if (this.started) this.schedule();
    }, this.tickMs());
    this.tick.unref();
  }

  /**
   * DR: the real servers' MACs from the neighbour table; unknown ones are asked for by ARP.
   * TUN: each server's tunnel MAC, derived from its address (it never answers on the tunnel).
   */
  private async learnMacs(): Promise<void> {
    const device = this.config.interface;
    const pool = this.pool();
    if (device === undefined || pool === undefined) return;
    if (this.config.mode === "tun") {
      this.macs = new Map(
        pool.backends.filter((b) => isIP(b.host) === 4).map((b) => [b.id, tunnelMac(b.host)]),
      );
      return;
    }
    const known = await neighbourMacs(device);
    const macs = new Map<string, string>();
    for (const backend of pool.backends) {
      const mac = known.get(backend.host);
      if (mac !== undefined) macs.set(backend.id, mac);
      else if (isIP(backend.host) === 4) provokeArp(backend.host);
    }
    this.macs = macs;
  }

  /** Reads the service's connections: conntrack (NAT) or the flow sets (DR, TUN). */
  private async refreshConnections(): Promise<void> {
    const pool = this.pool();
    const family = this.config.mode === "nat" ? "ip" : "netdev";
    const total = await readCounter(family, counterName({ key: this.key }));
    const arrived = Math.max(0, total - this.newConnections);
    this.newConnections = total;
    this.arrivedSinceReweight += arrived;
    const counts = new Map<string, ConnectionCount>();
    const rows: ConnectionRow[] = [];
    const count = (id: string | undefined, active: boolean) => {
      if (id === undefined) return;
      const entry = counts.get(id) ?? { active: 0, inactive: 0 };
      if (active) entry.active++;
      else entry.inactive++;
      counts.set(id, entry);
    };
    if (this.config.mode === "nat") {
      const byAddress = new Map((pool?.backends ?? []).map((b) => [`${b.host}:${b.port}`, b.id]));
      const { host, port } = this.config.bind;
      for (const entry of await readConntrack(` dst=${host} `)) {
        if (
          entry.vip !== host ||
          entry.vipPort !== port ||
          entry.transport !== this.config.transport
        )
          continue;
        const id = byAddress.get(`${entry.server}:${entry.serverPort}`);
        count(id, isActive(entry));
        rows.push({
          transport: entry.transport,
          client: `${entry.client}:${entry.clientPort}`,
          backend: id ?? null,
          state: entry.state || "UDP",
          expiresInMs: entry.expiresSeconds * 1000,
        });
      }
    } else {
      for (const server of this.flowServers(pool)) {
        const set = flowSet(
          { key: this.key, flowTimeoutSeconds: this.flowTimeoutSeconds() },
          server,
        );
        // The director sees only the client's half of a DR/TUN flow, as IPVS's input-only
        // states do: an open flow counts as active; one whose client sent a FIN or RST (TCP:
        // the closing set) as inactive.
        const tables: [string, boolean, string][] = [[set, true, "FLOW"]];
        if (this.config.transport === "tcp") {
          tables.push([closingSet({ key: this.key }, server), false, "FIN_WAIT"]);
        }
        for (const [name, active, state] of tables) {
          for (const element of await listSet("netdev", name)) {
            count(server.id, active);
            const concat = (element.key as { concat?: unknown[] }).concat ?? [];
            rows.push({
              transport: this.config.transport,
              client: `${concat[0]}:${concat[1]}`,
              backend: server.id,
              state,
              expiresInMs: element.expiresMs,
            });
          }
        }
      }
    }
    this.counts = counts;
    this.rows = rows;
    const now = Date.now();
    if (
      countsConnections(pool?.algorithm ?? "") &&
      now - this.lastReweight >= this.config.reweight_interval
    ) {
      // Plan the next interval's picks for as many new connections as the last one brought.
      const elapsed = this.lastReweight === 0 ? this.tickMs() : now - this.lastReweight;
      this.expectedNew = Math.max(
        1,
        (this.arrivedSinceReweight * this.config.reweight_interval) / elapsed,
      );
      this.arrivedSinceReweight = 0;
      this.planningCounts = counts;
      this.lastReweight = now;
    }
  }
}

function realServer(backend: BackendState): RealServer {
  return { id: backend.id, address: backend.host, port: backend.port, weight: backend.weight };
}

/** The factory the runtime uses for `protocol: kernel`. */
export function createKernelListener(config: ListenerConfig, context: ListenerContext): Listener {
  if (config.protocol !== "kernel") throw new Error(`not a kernel listener: ${config.protocol}`);
  return new KernelListener(config, context);
}
