/**
 * The one writer of ballast's nftables tables in this process (and network namespace): every
 * kernel listener registers its service here, and every change of any of them (a pool event,
 * a re-weighting tick, a reload, a stop) becomes one transaction that rewrites all services
 * at once. Transactions run one at a time; a failed one leaves the last good ruleset in force.
 * Nothing is removed when the process dies, so the kernel forwards on with the last rules.
 * TUN's VXLAN devices go with the rules: made (and given their forwarding entries) before the
 * transaction that uses them, removed after the one that no longer does.
 */
import type { Logger } from "../log.js";
import { applyScript, existingObjects, removeTables } from "./nft.js";
import { renderTransaction, type ServiceRules } from "./ruleset.js";
import { prepareTunnel, pruneTunnels, type TunnelSpec } from "./tunnels.js";

/** A service the controller writes rules for. */
export interface KernelService {
  readonly name: string;
  /** The service's rules as of now (live servers, weights, counts). */
  rules(): Promise<ServiceRules>;
}

/** How soon after a change request the transaction runs, so a burst of events makes one. */
const COALESCE_MS = 10;
/**
 * How long an unchanged ruleset goes without being checked against the kernel's tables. Any
 * listing of a table makes nft fetch every element of every set (the DR flow sets: tens of
 * thousands of flows, 0.1 s of CPU and more per run), so a tick whose rules are the ones last
 * applied runs no nft at all; every so often it lists and compares anyway, which puts back a
 * table that someone deleted by hand.
 */
const RECHECK_MS = 30_000;

class KernelController {
  private readonly services = new Map<string, KernelService>();
  /** The last transaction asked for; each new one runs after it, so they never overlap. */
  private queue: Promise<void> = Promise.resolve();
  private timer: NodeJS.Timeout | undefined;
  private lastScript = "";
  /** The rules of the last applied transaction (its script without flushes and deletes). */
  private lastRules = "";
  private lastCheck = 0;
  /** The tunnels (devices and forwarding entries) as the last transaction left them. */
  private lastTunnels = "";
  /** The MAC of each tunnel device, the source of the frames sent into it. */
  private tunnelMacs = new Map<string, string>();
  /** Transactions applied and refused since the start, for the listeners' stats. */
  readonly counters = { transactions: 0, refused: 0 };
  logger: Logger | undefined;

  /** Adds a service and applies the ruleset with it; rejects (and forgets it) when nft refuses. */
  async add(service: KernelService): Promise<void> {
    this.services.set(service.name, service);
    try {
      await this.sync();
    } catch (error) {
      this.services.delete(service.name);
      throw error;
    }
  }

  /** Removes a service; when it was the last, ballast's tables go, and only they. */
  async remove(service: KernelService): Promise<void> {
    if (this.services.get(service.name) !== service) return;
    this.services.delete(service.name);
    await this.sync();
  }

  /** Asks for a transaction soon (coalescing requests that come together). */
  requestSync(): void {
    if (this.timer !== undefined || this.services.size === 0) return;
    this.timer = setTimeout(() => {
      this.timer = undefined;
      this.sync().catch((error: Error) =>
        this.logger?.error(
          { error: error.message },
          "kernel ruleset not applied; the last good one stays",
        ),
      );
    }, COALESCE_MS);
    this.timer.unref();
  }

  /** Writes the ruleset of every registered service, after any transaction in progress. */
  sync(): Promise<void> {
    const next = this.queue.catch(() => undefined).then(() => this.transaction());
    this.queue = next;
    return next;
  }

  private async transaction(): Promise<void> {
    if (this.services.size === 0) {
      await removeTables(await existingObjects());
      await pruneTunnels([]);
      this.lastScript = "";
      this.lastRules = "";
      this.lastTunnels = "";
      return;
    }
    const rules: ServiceRules[] = [];
    for (const service of this.services.values()) rules.push(await service.rules());
    const recheck = Date.now() - this.lastCheck >= RECHECK_MS;
    const tunnels = wantedTunnels(rules);
    const tunnelState = JSON.stringify(tunnels, (_, v) => (v instanceof Map ? [...v].sort() : v));
    if (recheck || tunnelState !== this.lastTunnels) {
      const macs = new Map<string, string>();
      for (const tunnel of tunnels) macs.set(tunnel.device, await prepareTunnel(tunnel));
      this.tunnelMacs = macs;
    }
    for (const service of rules) {
      if (service.tunnel !== undefined)
        service.tunnel.mac = this.tunnelMacs.get(service.tunnel.device);
    }
    const wanted = renderTransaction(rules, {});
    if (wanted === this.lastRules && tunnelState === this.lastTunnels && !recheck) return;
    const script = renderTransaction(rules, await existingObjects());
    this.lastCheck = Date.now();
    if (script !== this.lastScript) {
      try {
        await applyScript(script);
      } catch (error) {
        this.counters.refused++;
        this.lastRules = "";
        throw error;
      }
      this.counters.transactions++;
      this.lastScript = script;
    }
    this.lastRules = wanted;
    if (tunnelState !== this.lastTunnels) {
      await pruneTunnels(tunnels);
      this.lastTunnels = tunnelState;
    }
  }
}

/** The VXLAN devices the TUN services need, each with every real server it must reach. */
function wantedTunnels(rules: readonly ServiceRules[]): TunnelSpec[] {
  const tunnels = new Map<string, TunnelSpec>();
  for (const service of rules) {
    if (service.mode !== "tun" || service.tunnel === undefined) continue;
    const { device, vni, port, mtu } = service.tunnel;
    const spec = tunnels.get(device) ?? { device, vni, port, mtu, remotes: new Map() };
    for (const server of [...service.servers, ...(service.flowServers ?? [])]) {
      const mac = service.macs?.get(server.id);
      if (mac !== undefined) spec.remotes.set(mac, server.address);
    }
    tunnels.set(device, spec);
  }
  return [...tunnels.values()].sort((a, b) => a.device.localeCompare(b.device));
}

/** The process's controller (ballast's tables are one per network namespace). */
export const kernelController = new KernelController();
