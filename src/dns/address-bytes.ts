/** IP addresses as 16 bytes (IPv4 mapped into IPv6), for prefix matching and masking. */
import { isIPv4 } from "node:net";
import { mappedIPv4, NOT_IPV4, parseIPv4, parseIPv6 } from "../security/ip-address.js";

/** An address as 16 bytes and its family (4 or 6); IPv4 sits in the last four bytes. */
export interface AddressBytes {
  family: 4 | 6;
  bytes: Uint8Array;
}

const groups = new Uint16Array(8);

/** Parses an address as a socket or an ECS option gives it; undefined when it is not one. */
export function addressBytes(text: string): AddressBytes | undefined {
  const v4 = parseIPv4(text);
  if (v4 !== NOT_IPV4) return { family: 4, bytes: ipv4Bytes(v4) };
  if (!parseIPv6(text, groups)) return undefined;
  const mapped = mappedIPv4(groups);
  if (mapped !== NOT_IPV4) return { family: 4, bytes: ipv4Bytes(mapped) };
  const bytes = new Uint8Array(16);
  for (let i = 0; i < 8; i++) {
    bytes[i * 2] = groups[i] >> 8;
    bytes[i * 2 + 1] = groups[i] & 0xff;
  }
  return { family: 6, bytes };
}

function ipv4Bytes(value: number): Uint8Array {
  const bytes = new Uint8Array(16);
  bytes[12] = value >>> 24;
  bytes[13] = (value >>> 16) & 0xff;
  bytes[14] = (value >>> 8) & 0xff;
  bytes[15] = value & 0xff;
  return bytes;
}

/** The family's own bytes: 4 for IPv4, 16 for IPv6. */
export function familyBytes(address: AddressBytes): Uint8Array {
  return address.family === 4 ? address.bytes.subarray(12) : address.bytes;
}

/** True when the first `prefix` bits of `a` and `b` (family's own bytes) are equal. */
export function samePrefix(a: Uint8Array, b: Uint8Array, prefix: number): boolean {
  const whole = prefix >> 3;
  for (let i = 0; i < whole; i++) if (a[i] !== b[i]) return false;
  const rest = prefix & 7;
  if (rest === 0) return true;
  const mask = (0xff << (8 - rest)) & 0xff;
  return (a[whole] & mask) === (b[whole] & mask);
}

/** "a.b.c.d/p" or "v6/p": the client's subnet as text, a stable hashing key. */
export function subnetText(address: AddressBytes, prefix: number): string {
  const own = familyBytes(address);
  const masked = new Uint8Array(own.length);
  const whole = prefix >> 3;
  masked.set(own.subarray(0, whole));
  if ((prefix & 7) !== 0 && whole < own.length)
    masked[whole] = own[whole] & ((0xff << (8 - (prefix & 7))) & 0xff);
  if (address.family === 4) return `${masked.join(".")}/${prefix}`;
  const parts: string[] = [];
  for (let i = 0; i < 16; i += 2) parts.push(((masked[i] << 8) | masked[i + 1]).toString(16));
  return `${parts.join(":")}/${prefix}`;
}

/** Parses "10.0.0.0/8" or "2001:db8::/32" (a bare address is a full-length block). */
export function parseBlock(text: string): { address: AddressBytes; prefix: number } {
  const slash = text.indexOf("/");
  const host = slash < 0 ? text : text.slice(0, slash);
  const address = addressBytes(host);
  if (address === undefined) throw new Error(`not an address block: "${text}"`);
  // "::ffff:10.0.0.0/104" reads as IPv4, so its prefix counts IPv4 bits from then on.
  const maxBits = isIPv4(host) || address.family === 6 ? (address.family === 4 ? 32 : 128) : 128;
  let prefix = slash < 0 ? maxBits : Number(text.slice(slash + 1));
  if (address.family === 4 && maxBits === 128) prefix = Math.max(0, prefix - 96);
  if (!Number.isInteger(prefix) || prefix < 0 || prefix > (address.family === 4 ? 32 : 128)) {
    throw new Error(`bad prefix length in "${text}"`);
  }
  return { address, prefix };
}

/** The address as text ("192.0.2.1", or eight full IPv6 groups), for readers that take text. */
export function addressText(address: AddressBytes): string {
  return subnetText(address, address.family === 4 ? 32 : 128).slice(
    0,
    -(address.family === 4 ? 3 : 4),
  );
}
