/**
 * The director's end of LVS-TUN over VXLAN (this kernel has no IPIP or GRE): one VXLAN device
 * per VNI, `bltun<vni>`, whose forwarding database sends each real server's tunnel MAC to that
 * server's own address. The DR rules write the MAC and `fwd` the frame into the device; the
 * kernel wraps it in UDP to the real server. ballast marks the devices it creates with an
 * alias, adopts its own after a crash, refuses to use a device it did not create, and deletes
 * only its own.
 */
import { TUNNEL_DEVICE_PREFIX } from "../config/schema/index.js";
import { runCommand as run } from "./command.js";

/** The alias that marks a VXLAN device as ballast's (so a later start adopts it, stop deletes it). */
export const TUNNEL_ALIAS = "ballast kernel tun";

/** One tunnel device the services want, with the real servers it must reach. */
export interface TunnelSpec {
  device: string;
  vni: number;
  port: number;
  mtu: number;
  /** The real servers' tunnel MACs → their underlay IPv4 addresses. */
  remotes: Map<string, string>;
}

/** The name of ballast's VXLAN device of `vni`. */
export function tunnelDevice(vni: number): string {
  return `${TUNNEL_DEVICE_PREFIX}${vni}`;
}

/**
 * The MAC a real server's VXLAN device must have: 02:00 and its IPv4 address in hex
 * (10.78.0.11 → 02:00:0a:4e:00:0b). The kernel delivers a decapsulated frame only to its
 * device's own MAC, and the director cannot learn it (the real server never sends on the
 * tunnel), so both ends derive it from the address.
 */
export function tunnelMac(address: string): string {
  const octets = address.split(".").map((o) => Number(o).toString(16).padStart(2, "0"));
  return `02:00:${octets.join(":")}`;
}

interface LinkInfo {
  ifname: string;
  address?: string;
  ifalias?: string;
  linkinfo?: { info_kind?: string; info_data?: { id?: number; port?: number } };
}

async function link(device: string): Promise<LinkInfo | undefined> {
  try {
    return (
      JSON.parse(await run("ip", ["-d", "-j", "link", "show", "dev", device])) as LinkInfo[]
    )[0];
  } catch (error) {
    if (/does not exist/.test((error as Error).message)) return undefined;
    throw error;
  }
}

/**
 * Creates the device of `spec` (or adopts ballast's own, left by a crash) and adds the
 * forwarding entries it lacks; returns its MAC. Refuses a device of that name that is not
 * ballast's, or that carries another VNI or port.
 */
export async function prepareTunnel(spec: TunnelSpec): Promise<string> {
  let info = await link(spec.device);
  if (info !== undefined) {
    const data = info.linkinfo?.info_data;
    if (info.ifalias !== TUNNEL_ALIAS || info.linkinfo?.info_kind !== "vxlan") {
      throw new Error(`device ${spec.device} exists and is not ballast's; remove or rename it`);
    }
    if (data?.id !== spec.vni || data?.port !== spec.port) {
      // ballast's own device, made for another port (the config changed): made anew, which
      // loses only the frames sent into it meanwhile.
      await run("ip", ["link", "delete", "dev", spec.device]);
      info = undefined;
    }
  }
  if (info === undefined) {
    await run("ip", [
      ...["link", "add", spec.device, "type", "vxlan", "id", String(spec.vni)],
      ...["dstport", String(spec.port), "nolearning"],
    ]);
  }
  await run("ip", [
    ...["link", "set", "dev", spec.device, "mtu", String(spec.mtu)],
    ...["alias", TUNNEL_ALIAS, "up"],
  ]);
  const present = await forwardingEntries(spec.device);
  for (const [mac, remote] of spec.remotes) {
    if (present.get(mac) === remote) continue;
    await run("bridge", [
      ...["fdb", "replace", mac, "dev", spec.device, "dst", remote, "self", "permanent"],
    ]);
  }
  const mac = (await link(spec.device))?.address;
  if (mac === undefined) throw new Error(`device ${spec.device} has no MAC address`);
  return mac;
}

/** The device's unicast forwarding entries: MAC → remote address. */
async function forwardingEntries(device: string): Promise<Map<string, string>> {
  const entries = JSON.parse(await run("bridge", ["-j", "fdb", "show", "dev", device])) as {
    mac: string;
    dst?: string;
  }[];
  const remotes = new Map<string, string>();
  for (const entry of entries) {
    if (entry.dst !== undefined && entry.mac !== "00:00:00:00:00:00")
      remotes.set(entry.mac, entry.dst);
  }
  return remotes;
}

/**
 * After a transaction: removes the forwarding entries of `wanted` devices that no server
 * needs any more, and deletes every device of ballast that no service wants (all of them when
 * `wanted` is empty). Devices without ballast's alias are never touched.
 */
export async function pruneTunnels(wanted: readonly TunnelSpec[]): Promise<void> {
  const links = JSON.parse(await run("ip", ["-j", "link", "show", "type", "vxlan"])) as LinkInfo[];
  for (const device of links) {
    if (device.ifalias !== TUNNEL_ALIAS) continue;
    const spec = wanted.find((tunnel) => tunnel.device === device.ifname);
    if (spec === undefined) {
      await run("ip", ["link", "delete", "dev", device.ifname]);
      continue;
    }
    for (const [mac, remote] of await forwardingEntries(device.ifname)) {
      if (spec.remotes.get(mac) === remote) continue;
      await run("bridge", ["fdb", "del", mac, "dev", device.ifname, "dst", remote, "self"]);
    }
  }
}
