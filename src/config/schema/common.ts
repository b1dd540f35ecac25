/** Small schema pieces shared by every section: durations, addresses, sizes. */
import { isIP } from "node:net";
import { z } from "zod";

const DURATION = /^(\d+(?:\.\d+)?)(ms|s|m|h|d)$/;
const UNIT_MS: Record<string, number> = { ms: 1, s: 1000, m: 60_000, h: 3_600_000, d: 86_400_000 };

/** A duration: "250ms", "5s", "2m", "1h", "1d", or a number of milliseconds. Parsed to ms. */
export const duration = z.union([
  z.number().nonnegative(),
  z
    .string()
    .regex(DURATION, 'expected a duration such as "250ms", "5s", "2m" or "1h"')
    .transform((text) => {
      const [, amount, unit] = DURATION.exec(text)!;
      return Number(amount) * UNIT_MS[unit];
    }),
]);

/** A duration above 0: the period of a timer or a timeout, where 0 would mean a busy loop. */
export const positiveDuration = duration.refine((ms) => ms > 0, {
  message: 'must be above 0, such as "250ms" or "2s"',
});

/** A TCP/UDP port. */
export const port = z.number().int().min(0).max(65535);

const HOST_PORT = /^(?:\[([0-9a-fA-F:.]+)\]|([^:\s[\]]+)):(\d{1,5})$/;
const HOST_PORT_TEXT = 'expected "host:port", such as "127.0.0.1:8080" or "[::1]:8080"';
const LABEL = /^[A-Za-z0-9_](?:[A-Za-z0-9_-]{0,61}[A-Za-z0-9_])?$/;

/**
 * "host:port" or "[v6]:port" parsed to { host, port }; the host must be an IP address or a
 * host name, and port 0 (any free port) is allowed only where the address is bound.
 */
function hostPortSchema(portZero: "any free port" | "refused") {
  return z
    .string()
    .regex(HOST_PORT, HOST_PORT_TEXT)
    .transform((text, ctx) => {
      const [, v6, name, portText] = HOST_PORT.exec(text)!;
      const host = v6 ?? name;
      const portNumber = Number(portText);
      const problem =
        hostProblem(host, v6 !== undefined) ??
        (portNumber > 65535 ? `port ${portNumber} is above 65535` : undefined) ??
        (portNumber === 0 && portZero === "refused"
          ? "port 0 cannot be connected to; expected a port from 1 to 65535"
          : undefined);
      if (problem !== undefined) {
        ctx.addIssue({ code: "custom", message: problem });
        return z.NEVER;
      }
      return { host, port: portNumber };
    });
}

/** "host:port" or "[v6]:port" of a peer to connect to (a backend), parsed to { host, port }. */
export const hostPort = hostPortSchema("refused");

export type HostPort = { host: string; port: number };

/**
 * Why `host` names no machine, or undefined when it is an IP address or a host name. A name
 * whose last label is a number is an IPv4 address to resolvers and URL parsers alike (the
 * WHATWG URL rule), so "10.0.0.300" or "10.1" is a bad address, not a host name.
 */
export function hostProblem(host: string, bracketed: boolean): string | undefined {
  if (bracketed) return isIP(host) === 6 ? undefined : `"${host}" is not a valid IPv6 address`;
  if (isIP(host) !== 0) return undefined;
  const name = host.endsWith(".") ? host.slice(0, -1) : host;
  const labels = name.split(".");
  if (/^(?:\d+|0x[0-9a-f]*)$/i.test(labels[labels.length - 1])) {
    return `"${host}" is not a valid IPv4 address; expected four numbers from 0 to 255, such as "10.0.0.30"`;
  }
  if (name.length > 253 || !labels.every((label) => LABEL.test(label))) {
    return `"${host}" is not a valid host name; expected letters, digits, "-" and "_" in dot-separated labels`;
  }
  return undefined;
}

/** An address to listen on: "host:port", "[v6]:port" or just a port ("8080" or 8080). */
export const bindAddress = z.union([
  port.transform((p) => ({ host: "0.0.0.0", port: p })),
  z
    .string()
    .regex(/^\d{1,5}$/)
    .transform(Number)
    .pipe(port)
    .transform((p) => ({ host: "0.0.0.0", port: p })),
  hostPortSchema("any free port"),
]);

/** A CIDR block or a single address, for allow/deny lists and trusted proxies. */
export const cidr = z
  .string()
  .regex(
    /^(?:\d{1,3}(?:\.\d{1,3}){3}|[0-9a-fA-F:.]+)(?:\/\d{1,3})?$/,
    'expected an address or CIDR block such as "10.0.0.0/8" or "::1"',
  )
  // The shape alone lets "300.1.1.1" or "10.0.0.0/33" through; a reload must not fail later.
  .refine(isAddressOrBlock, 'expected an address or CIDR block such as "10.0.0.0/8" or "::1"');

function isAddressOrBlock(text: string): boolean {
  const slash = text.indexOf("/");
  const family = isIP(slash < 0 ? text : text.slice(0, slash));
  if (family === 0) return false;
  return slash < 0 || Number(text.slice(slash + 1)) <= (family === 4 ? 32 : 128);
}
