/** Which peers may hand us an X-Forwarded-* chain: the listener's `trusted_proxies` CIDRs. */
import { BlockList, isIPv6 } from "node:net";

/** A set of addresses and CIDR blocks, checked once per request. */
export interface AddressSet {
  has(address: string | undefined): boolean;
}

const NOBODY: AddressSet = { has: () => false };

/** Compiles "10.0.0.0/8", "::1", "192.168.1.7" into a set; an empty list trusts nobody. */
export function compileAddressSet(cidrs: readonly string[]): AddressSet {
  if (cidrs.length === 0) return NOBODY;
  // node's BlockList matches IPv4-mapped IPv6 peers ("::ffff:10.0.0.1") against IPv4 blocks.
  const list = new BlockList();
  for (const entry of cidrs) {
    const slash = entry.indexOf("/");
    const address = slash < 0 ? entry : entry.slice(0, slash);
    const family = isIPv6(address) ? "ipv6" : "ipv4";
    const prefix = slash < 0 ? (family === "ipv6" ? 128 : 32) : Number(entry.slice(slash + 1));
    list.addSubnet(address, prefix, family);
  }
  return {
    has(address) {
      if (address === undefined) return false;
      return list.check(address, address.includes(":") ? "ipv6" : "ipv4");
    },
  };
}
