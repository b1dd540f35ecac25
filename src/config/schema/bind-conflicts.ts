/**
 * Listeners that would take the same socket address, which the kernel gives only once: the
 * second would fail at start with EADDRINUSE, so `check` refuses the config instead.
 */
import { isIP } from "node:net";
import type { HostPort } from "./common.js";

/**
 * What a listener binds: http and tcp listeners share TCP ports, udp listeners UDP ports,
 * and a dns listener takes the port in both.
 */
export interface Bind {
  protocol: string;
  /** Absent when the listener's own `bind` was refused. */
  bind?: HostPort;
}

/** Each listener that collides with an earlier one, and the earlier one, as indexes. */
export function bindConflicts(listeners: readonly Bind[]): { index: number; earlier: number }[] {
  const conflicts: { index: number; earlier: number }[] = [];
  listeners.forEach((listener, index) => {
    const earlier = listeners.findIndex(
      (other, i) =>
        i < index &&
        sharesTransport(other.protocol, listener.protocol) &&
        bindsOverlap(other.bind, listener.bind),
    );
    if (earlier >= 0) conflicts.push({ index, earlier });
  });
  return conflicts;
}

/** True when the two protocols bind in a common port space (TCP, UDP). */
function sharesTransport(a: string, b: string): boolean {
  return (bindsTcp(a) && bindsTcp(b)) || (bindsUdp(a) && bindsUdp(b));
}

function bindsTcp(protocol: string): boolean {
  return protocol !== "udp";
}

function bindsUdp(protocol: string): boolean {
  return protocol === "udp" || protocol === "dns";
}

/**
 * True when the two addresses cannot both be bound on Linux. Port 0 asks for any free port,
 * so it never collides. "0.0.0.0" takes the port on every IPv4 address, "::" on every
 * address of both families (node's sockets are dual-stack). A host name is compared by its
 * spelling and against "::" only: what else it collides with depends on how it resolves.
 */
export function bindsOverlap(a: HostPort | undefined, b: HostPort | undefined): boolean {
  // zod still runs whole-config checks when a `bind` was refused: nothing to compare then.
  if (typeof a?.host !== "string" || typeof b?.host !== "string") return false;
  if (a.port === 0 || b.port === 0 || a.port !== b.port) return false;
  const x = canonical(a.host);
  const y = canonical(b.host);
  if (x === y || x === "::" || y === "::") return true;
  if (x === "0.0.0.0") return isIP(y) === 4;
  if (y === "0.0.0.0") return isIP(x) === 4;
  return false;
}

/** One spelling per address: "::0" and "0:0::0" are "::", "::ffff:127.0.0.1" is "127.0.0.1". */
function canonical(host: string): string {
  const lower = host.toLowerCase();
  if (isIP(lower) !== 6) return lower;
  const text = new URL(`http://[${lower}]/`).hostname.slice(1, -1);
  const mapped = /^::ffff:([0-9a-f]{1,4}):([0-9a-f]{1,4})$/.exec(text);
  if (mapped === null) return text;
  const high = Number.parseInt(mapped[1], 16);
  const low = Number.parseInt(mapped[2], 16);
  return `${high >> 8}.${high & 255}.${low >> 8}.${low & 255}`;
}
