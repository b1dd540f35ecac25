/** The hashing key of an L4 (tcp, udp) connection, from the client's address and port. */
import { formatHostPort } from "../pool/backend.js";
import type { Pool } from "../pool/pool.js";
import { unmapIPv4 } from "./proxy-protocol.js";

/**
 * `client_ip` → the address (IPv4-mapped IPv6 as plain IPv4), `client_ip_port` → "addr:port".
 * Only these two apply to L4; the config check refuses the other `hash_key` kinds there.
 * Undefined for a pool whose algorithm reads no key (nothing to build per connection).
 */
export function l4HashKey(pool: Pool, address: string, port: number): string | undefined {
  if (!pool.usesKey) return undefined;
  const client = unmapIPv4(address);
  return pool.hashKey === "client_ip_port" ? formatHostPort(client, port) : client;
}
