/**
 * MAC addresses for direct routing: the director's own on the device, and each real
 * server's from the neighbour table. An unknown neighbour is provoked with one datagram, so
 * the kernel resolves it by ARP and the next sync finds it.
 */
import { createSocket } from "node:dgram";
import { runCommand } from "./command.js";

function ip(args: string[]): Promise<string> {
  return runCommand("ip", args);
}

/** The MAC of `device` in this namespace; rejects when there is no such device. */
export async function deviceMac(device: string): Promise<string> {
  const links = JSON.parse(await ip(["-j", "link", "show", "dev", device])) as {
    address?: string;
  }[];
  const mac = links[0]?.address;
  if (mac === undefined) throw new Error(`device ${device} has no MAC address`);
  return mac;
}

/** The MACs the neighbour table of `device` knows, by IPv4 address (failed entries left out). */
export async function neighbourMacs(device: string): Promise<Map<string, string>> {
  const entries = JSON.parse(await ip(["-j", "-4", "neigh", "show", "dev", device])) as {
    dst: string;
    lladdr?: string;
    state?: string[];
  }[];
  const macs = new Map<string, string>();
  for (const entry of entries) {
    if (entry.lladdr !== undefined && !entry.state?.includes("FAILED"))
      macs.set(entry.dst, entry.lladdr);
  }
  return macs;
}

/** Sends one datagram to `address` (the discard port), so the kernel resolves its MAC. */
export function provokeArp(address: string): void {
  const socket = createSocket("udp4");
  socket.on("error", () => socket.close());
  socket.send(Buffer.alloc(0), 9, address, () => socket.close());
}
