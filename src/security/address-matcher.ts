/**
 * Allow/deny lists of addresses and CIDR blocks (nginx `allow`/`deny`, HAProxy
 * `tcp-request connection reject if { src ... }`), compiled once per config: IPv4 blocks
 * become sorted, merged ranges searched by bisection; IPv6 blocks are compared group by
 * group. A lookup allocates nothing. IPv4-mapped IPv6 peers match IPv4 blocks.
 */
import { mappedIPv4, NOT_IPV4, parseIPv4, parseIPv6 } from "./ip-address.js";

/** Scratch groups for the address being looked up; lookups are synchronous. */
const lookupGroups = new Uint16Array(8);
/** What `readAddress` found: an IPv6 address, left in `lookupGroups`. */
const IN_GROUPS = -2;

/** A compiled list of addresses and CIDR blocks. */
export class AddressMatcher {
  /** Merged IPv4 ranges, sorted: [starts[i], ends[i]] inclusive. */
  private readonly starts: Float64Array;
  private readonly ends: Float64Array;
  /** IPv6 blocks: eight groups each, and their prefix lengths. */
  private readonly v6Networks: Uint16Array;
  private readonly v6Prefixes: Uint8Array;
  /** True when the list holds no entry. */
  readonly empty: boolean;

  /** Compiles `entries` ("10.0.0.0/8", "::1", "2001:db8::/32"); throws on a bad entry. */
  constructor(entries: readonly string[]) {
    const v4: Array<[number, number]> = [];
    const v6: Array<{ groups: Uint16Array; prefix: number }> = [];
    for (const entry of entries) {
      const block = parseBlock(entry);
      if (block.family === 4) v4.push(rangeOf(block.address, block.prefix));
      else v6.push({ groups: block.groups, prefix: block.prefix });
    }
    const merged = mergeRanges(v4);
    this.starts = Float64Array.from(merged, (range) => range[0]);
    this.ends = Float64Array.from(merged, (range) => range[1]);
    this.v6Networks = new Uint16Array(v6.length * 8);
    this.v6Prefixes = new Uint8Array(v6.length);
    v6.forEach((block, i) => {
      this.v6Networks.set(block.groups, i * 8);
      this.v6Prefixes[i] = block.prefix;
    });
    this.empty = entries.length === 0;
  }

  /** Whether `address` (as a socket reports it) is in the list. */
  matches(address: string): boolean {
    const v4 = readAddress(address);
    if (v4 >= 0) return this.matchesIPv4(v4);
    return v4 === IN_GROUPS && this.matchesIPv6(lookupGroups);
  }

  /** Whether the IPv4 address (as an unsigned number) is in the list. */
  matchesIPv4(address: number): boolean {
    const starts = this.starts;
    let low = 0;
    let high = starts.length - 1;
    // The last range starting at or below the address is the only one that can hold it.
    while (low <= high) {
      const middle = (low + high) >>> 1;
      if (starts[middle] <= address) low = middle + 1;
      else high = middle - 1;
    }
    return high >= 0 && address <= this.ends[high];
  }

  /** Whether the IPv6 address (eight groups) is in the list. */
  matchesIPv6(groups: Uint16Array): boolean {
    const networks = this.v6Networks;
    const prefixes = this.v6Prefixes;
    for (let entry = 0; entry < prefixes.length; entry++) {
      if (blockHolds(networks, entry * 8, prefixes[entry], groups)) return true;
    }
    return false;
  }
}

/**
 * An allow list and a deny list together: a client passes when no deny entry matches and,
 * if the allow list is not empty, an allow entry does. Deny wins over allow, whatever the
 * order, so a narrower deny inside a wider allow works as it reads.
 */
export class AccessList {
  private readonly allow: AddressMatcher;
  private readonly deny: AddressMatcher;
  /** True when neither list has an entry: every client passes. */
  readonly open: boolean;

  /** Compiles both lists; throws on a bad entry. */
  constructor(allow: readonly string[], deny: readonly string[]) {
    this.allow = new AddressMatcher(allow);
    this.deny = new AddressMatcher(deny);
    this.open = this.allow.empty && this.deny.empty;
  }

  /** Whether the client at `address` may connect. */
  allows(address: string): boolean {
    if (this.open) return true;
    const v4 = readAddress(address);
    if (v4 >= 0) {
      if (this.deny.matchesIPv4(v4)) return false;
      return this.allow.empty || this.allow.matchesIPv4(v4);
    }
    // An address that does not parse is let through only when nothing is allowed explicitly.
    if (v4 !== IN_GROUPS) return this.allow.empty;
    if (this.deny.matchesIPv6(lookupGroups)) return false;
    return this.allow.empty || this.allow.matchesIPv6(lookupGroups);
  }
}

/** Whether `entry` is an address or CIDR block the matcher accepts. */
export function isAddressBlock(entry: string): boolean {
  try {
    parseBlock(entry);
    return true;
  } catch {
    return false;
  }
}

/** The IPv4 value of `address` (mapped ones too), IN_GROUPS for IPv6, or NOT_IPV4. */
function readAddress(address: string): number {
  const v4 = parseIPv4(address);
  if (v4 !== NOT_IPV4) return v4;
  if (!parseIPv6(address, lookupGroups)) return NOT_IPV4;
  const mapped = mappedIPv4(lookupGroups);
  return mapped === NOT_IPV4 ? IN_GROUPS : mapped;
}

type Block =
  | { family: 4; address: number; prefix: number }
  | { family: 6; groups: Uint16Array; prefix: number };

function parseBlock(entry: string): Block {
  const slash = entry.indexOf("/");
  const addressText = slash < 0 ? entry : entry.slice(0, slash);
  const prefixText = slash < 0 ? undefined : entry.slice(slash + 1);
  const v4 = parseIPv4(addressText);
  const groups = new Uint16Array(8);
  const family = v4 !== NOT_IPV4 ? 4 : parseIPv6(addressText, groups) ? 6 : 0;
  if (family === 0) throw new Error(`"${entry}" is not an IPv4 or IPv6 address or CIDR block`);
  const bits = family === 4 ? 32 : 128;
  const prefix = prefixText === undefined ? bits : Number(prefixText);
  if (prefixText !== undefined && (!/^\d{1,3}$/.test(prefixText) || prefix > bits)) {
    throw new Error(`"${entry}": the prefix length must be a whole number from 0 to ${bits}`);
  }
  if (family === 4) return { family, address: v4, prefix };
  const mapped = mappedIPv4(groups);
  // "::ffff:10.0.0.0/104" is the IPv4 block 10.0.0.0/8.
  if (mapped !== NOT_IPV4 && prefix >= 96)
    return { family: 4, address: mapped, prefix: prefix - 96 };
  maskGroups(groups, prefix);
  return { family, groups, prefix };
}

/** The inclusive range of an IPv4 block; host bits given in the entry are ignored. */
function rangeOf(address: number, prefix: number): [number, number] {
  const size = 2 ** (32 - prefix);
  const start = address - (address % size);
  return [start, start + size - 1];
}

function mergeRanges(ranges: Array<[number, number]>): Array<[number, number]> {
  ranges.sort((a, b) => a[0] - b[0]);
  const merged: Array<[number, number]> = [];
  for (const range of ranges) {
    const last = merged[merged.length - 1];
    if (last !== undefined && range[0] <= last[1] + 1) last[1] = Math.max(last[1], range[1]);
    else merged.push([range[0], range[1]]);
  }
  return merged;
}

function maskGroups(groups: Uint16Array, prefix: number): void {
  for (let k = 0; k < 8; k++) groups[k] &= groupMask(prefix - k * 16);
}

/** The mask of one 16-bit group that has `bits` of the prefix (clamped to 0..16). */
function groupMask(bits: number): number {
  if (bits <= 0) return 0;
  if (bits >= 16) return 0xffff;
  return (0xffff << (16 - bits)) & 0xffff;
}

function blockHolds(
  networks: Uint16Array,
  offset: number,
  prefix: number,
  groups: Uint16Array,
): boolean {
  for (let k = 0; k < 8 && k * 16 < prefix; k++) {
    if (((groups[k] ^ networks[offset + k]) & groupMask(prefix - k * 16)) !== 0) return false;
  }
  return true;
}
