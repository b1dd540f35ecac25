/**
 * The nftables script of one transaction: every kernel virtual service of this process in
 * ballast's own tables (`table ip ballast` for NAT, `table netdev ballast` for DR and TUN). The
 * script first flushes what exists and deletes what is no longer wanted, then writes every
 * rule again, so `nft -f` applies the whole change at once or, on any error, none of it.
 * Persistence sets and the DR flow sets are kept across transactions: they are the
 * connection state, and flushing a chain leaves them alone. TUN is DR whose frames leave by a
 * VXLAN device instead of the device they came in by: the same rules, another way out.
 */
import type { Dispatch, RealServer } from "./dispatch.js";

/** ballast's tables are called this, in the ip and netdev families. */
export const TABLE = "ballast";

/** One virtual service, ready to be written as rules. */
export interface ServiceRules {
  /** A name-safe key of the service (from the listener's name). */
  key: string;
  mode: "nat" | "dr" | "tun";
  transport: "tcp" | "udp";
  vip: string;
  port: number;
  dispatch: Dispatch;
  /** Live real servers: the ones persistence may still send clients to. */
  servers: readonly RealServer[];
  /** LVS persistence (-p) in seconds; 0 = off. */
  persistenceSeconds: number;
  /** A seed for jhash, fixed per service so a rewrite keeps clients in their buckets. */
  seed: number;
  /** nat: masquerade forwarded connections. */
  masquerade: boolean;
  /** dr, tun: the interface the VIP's packets arrive on (dr: and leave by). */
  device?: string;
  /** dr: the director's MAC on `device`, the source of the forwarded frames. */
  deviceMac?: string;
  /**
   * dr: each server's MAC by id (tun: its tunnel MAC); a server without one is left out until
   * it is known.
   */
  macs?: ReadonlyMap<string, string>;
  /** tun: the VXLAN device the frames leave by, with its MAC and inner MTU. */
  tunnel?: { device: string; vni: number; port: number; mtu: number; mac?: string };
  /** dr, tun: seconds a flow stays in the connection table without packets. */
  flowTimeoutSeconds: number;
  /**
   * dr, tun: the servers whose established flows keep going (up, draining included): each has a
   * flow set. A server that goes down loses its set, so a reused client port is scheduled anew.
   */
  flowServers?: readonly RealServer[];
}

/** The chains and sets that exist now in ballast's tables (from `nft -j -t list table`). */
export interface ExistingObjects {
  ip?: TableObjects;
  netdev?: TableObjects;
}

/** The named objects of one of ballast's tables. */
export interface TableObjects {
  chains: string[];
  /** Sets and maps. */
  sets: string[];
  counters: string[];
}

type Family = "ip" | "netdev";

/**
 * The most elements a flow or persistence set holds. nftables gives a dynamic set without a
 * size 65535, and a packet whose `update` finds the set full breaks out of its rule: at 220 new
 * connections/s with the 5 min flow timeout, every new DR flow would then fall through to the
 * director's own stack. Elements take memory only when they exist; IPVS's table is unbounded.
 */
export const DYNAMIC_SET_SIZE = 1 << 20;

/** The declaration of a dynamic set of `type` whose elements live `seconds`. */
function dynamicSet(family: Family, name: string, type: string, seconds: number): string {
  return `add set ${family} ${TABLE} ${name} { type ${type}; size ${DYNAMIC_SET_SIZE}; flags dynamic,timeout; timeout ${seconds}s; }`;
}

/** Keys of listener names: letters, digits and _, unique by a short hash of the name. */
export function serviceKey(name: string): string {
  let hash = 2166136261;
  for (let i = 0; i < name.length; i++) hash = Math.imul(hash ^ name.charCodeAt(i), 16777619);
  const safe = name.replace(/[^A-Za-z0-9]/g, "_").slice(0, 24);
  return `${safe}_${(hash >>> 0).toString(16).padStart(8, "0")}`;
}

/** A name-safe key of a real server: its address and port in hex. */
function serverKey(server: RealServer): string {
  const octets = server.address.split(".").map((o) => Number(o).toString(16).padStart(2, "0"));
  return `${octets.join("")}${server.port.toString(16).padStart(4, "0")}`;
}

/** A numgen or jhash index → value map, consecutive equal values written as one range. */
function indexMap(values: readonly string[]): string {
  const entries: string[] = [];
  let start = 0;
  for (let i = 1; i <= values.length; i++) {
    if (i < values.length && values[i] === values[start]) continue;
    entries.push(`${start === i - 1 ? start : `${start}-${i - 1}`} : ${values[start]}`);
    start = i;
  }
  return `{ ${entries.join(", ")} }`;
}

/** The expression that chooses an index: numgen over the slots or jhash into the buckets. */
function chooser(dispatch: Dispatch, seed: number): string {
  if (dispatch.kind === "sequence") {
    return `numgen ${dispatch.generator} mod ${dispatch.slots.length}`;
  }
  if (dispatch.kind === "hash") {
    const field = dispatch.key === "saddr" ? "ip saddr" : "ip daddr";
    return `jhash ${field} mod ${dispatch.buckets.length} seed 0x${seed.toString(16)}`;
  }
  return "";
}

function chosen(dispatch: Dispatch): readonly RealServer[] {
  return dispatch.kind === "sequence"
    ? dispatch.slots
    : dispatch.kind === "hash"
      ? dispatch.buckets
      : [];
}

/** The names of the chains and sets one service owns, in its family. */
function serviceObjects(service: ServiceRules): { chains: string[]; sets: string[] } {
  const chains = [`svc_${service.key}`];
  const sets: string[] = [];
  for (const server of service.servers) chains.push(`rs_${service.key}_${serverKey(server)}`);
  if (service.mode !== "nat") {
    chains.push(`out_${service.key}`);
    for (const server of service.flowServers ?? []) {
      sets.push(flowSet(service, server));
      if (service.transport === "tcp") sets.push(closingSet(service, server));
    }
  }
  if (service.persistenceSeconds > 0) {
    for (const server of service.servers) sets.push(persistSet(service, server));
  }
  return { chains, sets };
}

function persistSet(service: ServiceRules, server: RealServer): string {
  return `p_${service.key}_${serverKey(server)}_${service.persistenceSeconds}`;
}

/** The named counter of a service's new connections (it survives the flushes). */
export function counterName(service: Pick<ServiceRules, "key">): string {
  return `n_${service.key}`;
}

/** The name of a DR server's flow set: its part of the director's connection table. */
export function flowSet(
  service: Pick<ServiceRules, "key" | "flowTimeoutSeconds">,
  server: RealServer,
): string {
  return `f_${service.key}_${serverKey(server)}_${service.flowTimeoutSeconds}`;
}

/**
 * Seconds a DR/TUN flow stays in its server's closing set after the client's FIN or RST:
 * IPVS's FIN_WAIT timeout, the state its input-only table (the director sees only the client's
 * packets) moves an established connection to on a FIN.
 */
export const CLOSING_TIMEOUT_SECONDS = 120;

/**
 * The name of a DR server's closing set: flows whose client sent a FIN or RST, counted as
 * inactive (IPVS's InActConn) and still forwarded until they expire.
 */
export function closingSet(service: Pick<ServiceRules, "key">, server: RealServer): string {
  return `c_${service.key}_${serverKey(server)}`;
}

const NAT_BASE_CHAINS: Record<string, string> = {
  prerouting: "type nat hook prerouting priority dstnat; policy accept;",
  postrouting: "type nat hook postrouting priority srcnat; policy accept;",
};

function ingressChain(device: string): string {
  return `in_${device.replace(/[^A-Za-z0-9]/g, "_")}`;
}

/** The whole transaction for `services` over what `existing` says is there now. */
export function renderTransaction(
  services: readonly ServiceRules[],
  existing: ExistingObjects,
): string {
  const lines: string[] = [];
  const byFamily: Record<Family, ServiceRules[]> = {
    ip: services.filter((s) => s.mode === "nat"),
    netdev: services.filter((s) => s.mode !== "nat"),
  };
  for (const family of ["ip", "netdev"] as const) {
    const wanted = byFamily[family];
    const now = existing[family];
    if (wanted.length === 0) {
      // Nothing of this family any more: the whole table goes, and nothing else.
      if (now !== undefined) lines.push(`delete table ${family} ${TABLE}`);
      continue;
    }
    const baseChains = new Map<string, string>();
    if (family === "ip")
      for (const [name, spec] of Object.entries(NAT_BASE_CHAINS)) baseChains.set(name, spec);
    else {
      for (const service of wanted) {
        const device = service.device ?? "";
        baseChains.set(
          ingressChain(device),
          `type filter hook ingress device "${device}" priority -500; policy accept;`,
        );
      }
    }
    const chains = new Set(baseChains.keys());
    const sets = new Set<string>();
    for (const service of wanted) {
      const objects = serviceObjects(service);
      for (const chain of objects.chains) chains.add(chain);
      for (const set of objects.sets) sets.add(set);
    }
    lines.push(`add table ${family} ${TABLE}`);
    // Flush every chain first: a chain can be deleted only once no rule jumps to it.
    for (const chain of now?.chains ?? []) lines.push(`flush chain ${family} ${TABLE} ${chain}`);
    for (const chain of now?.chains ?? []) {
      if (!chains.has(chain)) lines.push(`delete chain ${family} ${TABLE} ${chain}`);
    }
    for (const set of now?.sets ?? []) {
      if (!sets.has(set)) lines.push(`delete set ${family} ${TABLE} ${set}`);
    }
    const counters = new Set(wanted.map((service) => counterName(service)));
    for (const counter of now?.counters ?? []) {
      if (!counters.has(counter)) lines.push(`delete counter ${family} ${TABLE} ${counter}`);
    }
    for (const counter of counters) lines.push(`add counter ${family} ${TABLE} ${counter}`);
    for (const [name, spec] of baseChains)
      lines.push(`add chain ${family} ${TABLE} ${name} { ${spec} }`);
    for (const chain of chains) {
      if (!baseChains.has(chain)) lines.push(`add chain ${family} ${TABLE} ${chain}`);
    }
    for (const service of wanted) {
      lines.push(...(family === "ip" ? natRules(service) : directRoutingRules(service)));
    }
  }
  return `${lines.join("\n")}\n`;
}

function rule(family: Family, chain: string, text: string): string {
  return `add rule ${family} ${TABLE} ${chain} ${text}`;
}

/** NAT: DNAT each new connection to the chosen real server; masquerade it on its way out. */
function natRules(service: ServiceRules): string[] {
  const { key, transport, vip, port } = service;
  const svc = `svc_${key}`;
  const lines = natSetDeclarations(service);
  lines.push(
    rule("ip", "prerouting", `ip daddr ${vip} ${transport} dport ${port} ct state new jump ${svc}`),
  );
  lines.push(...persistenceAndDispatch("ip", service));
  for (const server of service.servers) {
    const chain = `rs_${key}_${serverKey(server)}`;
    const remember =
      service.persistenceSeconds > 0 ? `update @${persistSet(service, server)} { ip saddr } ` : "";
    lines.push(
      rule(
        "ip",
        chain,
        `counter name ${counterName(service)} ${remember}meta l4proto ${transport} dnat ip to ${server.address}:${server.port}`,
      ),
    );
  }
  if (service.masquerade) {
    lines.push(
      rule(
        "ip",
        "postrouting",
        `ct status dnat ct original ip daddr ${vip} meta l4proto ${transport} ct original proto-dst ${port} masquerade`,
      ),
    );
  }
  return lines;
}

/** The rules of the service chain shared by both modes: persistence first, then dispatch. */
function persistenceAndDispatch(family: Family, service: ServiceRules): string[] {
  const svc = `svc_${service.key}`;
  const lines: string[] = [];
  if (service.persistenceSeconds > 0) {
    for (const server of service.servers) {
      lines.push(
        rule(
          family,
          svc,
          `ip saddr @${persistSet(service, server)} goto rs_${service.key}_${serverKey(server)}`,
        ),
      );
    }
  }
  const targets = chosen(service.dispatch);
  if (targets.length > 0) {
    const verdicts = targets.map((server) => `goto rs_${service.key}_${serverKey(server)}`);
    lines.push(
      rule(family, svc, `${chooser(service.dispatch, service.seed)} vmap ${indexMap(verdicts)}`),
    );
  }
  // No live real server (or an index outside the map): refuse rather than deliver the VIP locally.
  lines.push(rule(family, svc, "drop"));
  return lines;
}

/**
 * DR and TUN: in the ingress hook, before the director's own stack: a packet of a flow some
 * server already has (its flow set) goes on to it; a new one is scheduled and joins the flow
 * set of the server chosen. Then only the MACs change and the frame leaves (`outRules`). For
 * TCP the client's FIN or RST moves a flow to its server's closing set, where it is forwarded
 * until CLOSING_TIMEOUT_SECONDS pass and counted as inactive.
 */
function directRoutingRules(service: ServiceRules): string[] {
  const { key, transport, vip, port } = service;
  const svc = `svc_${key}`;
  const out = `out_${key}`;
  const flow = `ip saddr . ${transport} sport`;
  const device = service.device ?? "";
  const flowServers = (service.flowServers ?? []).filter((s) => service.macs?.has(s.id));
  const lines: string[] = [];
  for (const server of flowServers) {
    lines.push(
      dynamicSet(
        "netdev",
        flowSet(service, server),
        "ipv4_addr . inet_service",
        service.flowTimeoutSeconds,
      ),
    );
  }
  if (service.persistenceSeconds > 0) {
    for (const server of service.servers) {
      lines.push(
        dynamicSet("netdev", persistSet(service, server), "ipv4_addr", service.persistenceSeconds),
      );
    }
  }
  lines.push(
    rule("netdev", ingressChain(device), `ip daddr ${vip} ${transport} dport ${port} jump ${svc}`),
  );
  const tcp = transport === "tcp";
  if (tcp) {
    for (const server of flowServers) {
      lines.push(
        dynamicSet(
          "netdev",
          closingSet(service, server),
          "ipv4_addr . inet_service",
          CLOSING_TIMEOUT_SECONDS,
        ),
      );
    }
  }
  for (const server of flowServers) {
    const set = flowSet(service, server);
    const mac = service.macs?.get(server.id);
    if (tcp) {
      // The client's FIN or RST moves its flow to the closing set (ESTABLISHED to FIN_WAIT).
      const closing = closingSet(service, server);
      lines.push(
        rule(
          "netdev",
          svc,
          `tcp flags & (fin | rst) != 0 ${flow} @${set} delete @${set} { ${flow} } add @${closing} { ${flow} } ether daddr set ${mac} goto ${out}`,
        ),
      );
    }
    lines.push(
      rule(
        "netdev",
        svc,
        `${flow} @${set} update @${set} { ${flow} } ether daddr set ${mac} goto ${out}`,
      ),
    );
  }
  if (tcp) {
    // After every open flow: a SYN that reuses a closing flow's port is a new connection and
    // is scheduled anew, and its later packets find it among the open flows first.
    for (const server of flowServers) {
      const closing = closingSet(service, server);
      lines.push(
        rule(
          "netdev",
          svc,
          `tcp flags & syn == 0 ${flow} @${closing} update @${closing} { ${flow} } ether daddr set ${service.macs?.get(server.id)} goto ${out}`,
        ),
      );
    }
  }
  lines.push(...persistenceAndDispatch("netdev", service));
  for (const server of service.servers) {
    const mac = service.macs?.get(server.id);
    if (mac === undefined) continue;
    const remember =
      service.persistenceSeconds > 0 ? `update @${persistSet(service, server)} { ip saddr } ` : "";
    const flows = flowServers.some((s) => s.id === server.id)
      ? `update @${flowSet(service, server)} { ${flow} } `
      : "";
    lines.push(
      rule(
        "netdev",
        `rs_${key}_${serverKey(server)}`,
        `counter name ${counterName(service)} ${remember}${flows}ether daddr set ${mac} goto ${out}`,
      ),
    );
  }
  lines.push(...outRules(service, out));
  return lines;
}

/**
 * The way out of a DR or TUN service. DR: by the device the frame came in by, from the
 * director's MAC. TUN: into the VXLAN device, whose forwarding database turns the server's
 * tunnel MAC into its address; a SYN's MSS is clamped to the tunnel's MTU, so the client's
 * full-size segments fit once encapsulated (the real server's replies do not take the tunnel).
 */
function outRules(service: ServiceRules, out: string): string[] {
  const tunnel = service.tunnel;
  if (service.mode !== "tun" || tunnel === undefined) {
    const device = service.device ?? "";
    return [rule("netdev", out, `ether saddr set ${service.deviceMac} fwd to "${device}"`)];
  }
  const lines: string[] = [];
  if (service.transport === "tcp") {
    const mss = tunnel.mtu - 40;
    lines.push(
      rule(
        "netdev",
        out,
        `tcp flags syn tcp option maxseg size > ${mss} tcp option maxseg size set ${mss}`,
      ),
    );
  }
  lines.push(rule("netdev", out, `ether saddr set ${tunnel.mac} fwd to "${tunnel.device}"`));
  return lines;
}

/** The set declarations of NAT persistence (DR declares its own with its rules). */
function natSetDeclarations(service: ServiceRules): string[] {
  if (service.mode !== "nat" || service.persistenceSeconds <= 0) return [];
  return service.servers.map((server) =>
    dynamicSet("ip", persistSet(service, server), "ipv4_addr", service.persistenceSeconds),
  );
}
