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

/** "host:port" or "[v6]:port", parsed to { host, port }. */
export const hostPort = z
  .string()
  .regex(HOST_PORT, 'expected "host:port", such as "127.0.0.1:8080" or "[::1]:8080"')
  .transform((text, ctx) => {
    const [, v6, host, portText] = HOST_PORT.exec(text)!;
    const portNumber = Number(portText);
    if (portNumber > 65535) {
      ctx.addIssue({ code: "custom", message: `port ${portNumber} is above 65535` });
      return z.NEVER;
    }
    return { host: v6 ?? host, port: portNumber };
  });

export type HostPort = { host: string; port: number };

/** An address to listen on: "host:port", "[v6]:port" or just a port ("8080" or 8080). */
export const bindAddress = z.union([
  port.transform((p) => ({ host: "0.0.0.0", port: p })),
  z
    .string()
    .regex(/^\d{1,5}$/)
    .transform((p) => ({ host: "0.0.0.0", port: Number(p) })),
  hostPort,
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
