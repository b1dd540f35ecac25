/**
 * Hash functions for the hashing algorithms (HashName in ../types.ts) and the address parser
 * that dh and sh use to hash client addresses the way IPVS does.
 *
 * Strings are hashed as their UTF-8 bytes, so a key hashes the same here as in any other
 * implementation of the same function. The bytes go into one module-level scratch buffer
 * that grows on demand: hashing a key allocates nothing (md5 excepted: node:crypto).
 */
import { createHash } from "node:crypto";
import type { HashName } from "../types.js";

/** A 32-bit hash of a string with an optional seed; the result is an unsigned integer. */
export type StringHash = (text: string, seed?: number) => number;

let scratch = new Uint8Array(256);

/** Writes `text` as UTF-8 into the scratch buffer and returns the byte count. */
function utf8IntoScratch(text: string): number {
  const length = text.length;
  if (length * 3 > scratch.length) scratch = new Uint8Array(length * 3 + 64);
  const out = scratch;
  let n = 0;
  for (let i = 0; i < length; i++) {
    let c = text.charCodeAt(i);
    if (c < 0x80) {
      out[n++] = c;
    } else if (c < 0x800) {
      out[n++] = 0xc0 | (c >> 6);
      out[n++] = 0x80 | (c & 0x3f);
    } else if (c >= 0xd800 && c < 0xdc00 && i + 1 < length) {
      const low = text.charCodeAt(i + 1);
      if (low >= 0xdc00 && low < 0xe000) {
        i++;
        c = 0x10000 + ((c - 0xd800) << 10) + (low - 0xdc00);
        out[n++] = 0xf0 | (c >> 18);
        out[n++] = 0x80 | ((c >> 12) & 0x3f);
        out[n++] = 0x80 | ((c >> 6) & 0x3f);
        out[n++] = 0x80 | (c & 0x3f);
      } else {
        n = writeThreeBytes(out, n, 0xfffd);
      }
    } else {
      // Lone surrogates become U+FFFD, as TextEncoder and Buffer.from do.
      n = writeThreeBytes(out, n, c >= 0xd800 && c < 0xe000 ? 0xfffd : c);
    }
  }
  return n;
}

function writeThreeBytes(out: Uint8Array, n: number, c: number): number {
  out[n] = 0xe0 | (c >> 12);
  out[n + 1] = 0x80 | ((c >> 6) & 0x3f);
  out[n + 2] = 0x80 | (c & 0x3f);
  return n + 3;
}

/** FNV-1a, 32-bit, over UTF-8 bytes. The seed, when non-zero, replaces the offset basis. */
export function fnv1a32(text: string, seed = 0): number {
  let h = seed === 0 ? 0x811c9dc5 : seed | 0;
  const length = text.length;
  for (let i = 0; i < length; i++) {
    const c = text.charCodeAt(i);
    if (c >= 0x80) {
      const length = utf8IntoScratch(text); // may replace `scratch`: read it after
      return fnv1aBytes(scratch, length, seed);
    }
    h = Math.imul(h ^ c, 0x01000193);
  }
  return h >>> 0;
}

/** FNV-1a, 32-bit, over the first `length` bytes of `bytes`. */
export function fnv1aBytes(bytes: Uint8Array, length: number, seed = 0): number {
  let h = seed === 0 ? 0x811c9dc5 : seed | 0;
  for (let i = 0; i < length; i++) h = Math.imul(h ^ bytes[i], 0x01000193);
  return h >>> 0;
}

/** MurmurHash3 x86 32-bit (Appleby) over UTF-8 bytes. */
export function murmur3_32(text: string, seed = 0): number {
  const length = utf8IntoScratch(text); // may replace `scratch`: read it after
  return murmur3Bytes(scratch, length, seed);
}

/** MurmurHash3 x86 32-bit over the first `length` bytes of `bytes`. */
export function murmur3Bytes(bytes: Uint8Array, length: number, seed = 0): number {
  const c1 = 0xcc9e2d51;
  const c2 = 0x1b873593;
  let h = seed | 0;
  const blocks = length & ~3;
  for (let i = 0; i < blocks; i += 4) {
    let k = bytes[i] | (bytes[i + 1] << 8) | (bytes[i + 2] << 16) | (bytes[i + 3] << 24);
    k = Math.imul(k, c1);
    k = (k << 15) | (k >>> 17);
    k = Math.imul(k, c2);
    h ^= k;
    h = (h << 13) | (h >>> 19);
    h = (Math.imul(h, 5) + 0xe6546b64) | 0;
  }
  const tail = length & 3;
  if (tail !== 0) {
    let k = bytes[blocks];
    if (tail > 1) k ^= bytes[blocks + 1] << 8;
    if (tail > 2) k ^= bytes[blocks + 2] << 16;
    k = Math.imul(k, c1);
    k = (k << 15) | (k >>> 17);
    k = Math.imul(k, c2);
    h ^= k;
  }
  h ^= length;
  h ^= h >>> 16;
  h = Math.imul(h, 0x85ebca6b);
  h ^= h >>> 13;
  h = Math.imul(h, 0xc2b2ae35);
  h ^= h >>> 16;
  return h >>> 0;
}

const PRIME32_1 = 0x9e3779b1;
const PRIME32_2 = 0x85ebca77;
const PRIME32_3 = 0xc2b2ae3d;
const PRIME32_4 = 0x27d4eb2f;
const PRIME32_5 = 0x165667b1;

/** xxHash32 (Collet) over UTF-8 bytes. */
export function xxhash32(text: string, seed = 0): number {
  if (text.length < 16) {
    // Addresses and most keys: hash the characters directly, skipping the byte copy.
    const hash = xxhash32ShortAscii(text, seed);
    if (hash >= 0) return hash;
  }
  const length = utf8IntoScratch(text); // may replace `scratch`: read it after
  return xxhash32Bytes(scratch, length, seed);
}

/** xxHash32 of an ASCII string shorter than 16 characters; -1 when it is not ASCII. */
function xxhash32ShortAscii(text: string, seed: number): number {
  const length = text.length;
  let h = (seed + PRIME32_5 + length) | 0;
  let i = 0;
  for (; i + 4 <= length; i += 4) {
    const c0 = text.charCodeAt(i);
    const c1 = text.charCodeAt(i + 1);
    const c2 = text.charCodeAt(i + 2);
    const c3 = text.charCodeAt(i + 3);
    if ((c0 | c1 | c2 | c3) >= 0x80) return -1;
    h = (h + Math.imul(c0 | (c1 << 8) | (c2 << 16) | (c3 << 24), PRIME32_3)) | 0;
    h = Math.imul((h << 17) | (h >>> 15), PRIME32_4);
  }
  for (; i < length; i++) {
    const c = text.charCodeAt(i);
    if (c >= 0x80) return -1;
    h = (h + Math.imul(c, PRIME32_5)) | 0;
    h = Math.imul((h << 11) | (h >>> 21), PRIME32_1);
  }
  return xxAvalanche(h);
}

function xxAvalanche(h: number): number {
  h ^= h >>> 15;
  h = Math.imul(h, PRIME32_2);
  h ^= h >>> 13;
  h = Math.imul(h, PRIME32_3);
  h ^= h >>> 16;
  return h >>> 0;
}

function readU32(bytes: Uint8Array, i: number): number {
  return bytes[i] | (bytes[i + 1] << 8) | (bytes[i + 2] << 16) | (bytes[i + 3] << 24);
}

function xxRound(acc: number, lane: number): number {
  acc = (acc + Math.imul(lane, PRIME32_2)) | 0;
  acc = (acc << 13) | (acc >>> 19);
  return Math.imul(acc, PRIME32_1);
}

/** xxHash32 over the first `length` bytes of `bytes`. */
export function xxhash32Bytes(bytes: Uint8Array, length: number, seed = 0): number {
  let i = 0;
  let h: number;
  if (length >= 16) {
    let v1 = (seed + PRIME32_1 + PRIME32_2) | 0;
    let v2 = (seed + PRIME32_2) | 0;
    let v3 = seed | 0;
    let v4 = (seed - PRIME32_1) | 0;
    const limit = length - 16;
    while (i <= limit) {
      v1 = xxRound(v1, readU32(bytes, i));
      v2 = xxRound(v2, readU32(bytes, i + 4));
      v3 = xxRound(v3, readU32(bytes, i + 8));
      v4 = xxRound(v4, readU32(bytes, i + 12));
      i += 16;
    }
    h =
      (((v1 << 1) | (v1 >>> 31)) +
        ((v2 << 7) | (v2 >>> 25)) +
        ((v3 << 12) | (v3 >>> 20)) +
        ((v4 << 18) | (v4 >>> 14))) |
      0;
  } else {
    h = (seed + PRIME32_5) | 0;
  }
  h = (h + length) | 0;
  while (i + 4 <= length) {
    h = (h + Math.imul(readU32(bytes, i), PRIME32_3)) | 0;
    h = Math.imul((h << 17) | (h >>> 15), PRIME32_4);
    i += 4;
  }
  while (i < length) {
    h = (h + Math.imul(bytes[i], PRIME32_5)) | 0;
    h = Math.imul((h << 11) | (h >>> 21), PRIME32_1);
    i++;
  }
  return xxAvalanche(h);
}

/** The MD5 digest of a string's UTF-8 bytes (16 bytes), as libketama computes it. */
export function md5Digest(text: string): Buffer {
  return createHash("md5").update(text, "utf8").digest();
}

/**
 * libketama's 32-bit point `k` (0..3) of an MD5 digest: bytes 4k..4k+3, little-endian.
 * ketama hashes a key to point 0 of its digest.
 */
export function ketamaPoint(digest: Uint8Array, k: number): number {
  const i = k * 4;
  return (digest[i] | (digest[i + 1] << 8) | (digest[i + 2] << 16) | (digest[i + 3] << 24)) >>> 0;
}

/** MD5 of the key reduced to 32 bits as ketama does (first four digest bytes, little-endian). */
export function md5_32(text: string, _seed = 0): number {
  return ketamaPoint(md5Digest(text), 0);
}

/** The hash function registered under `name`. */
export function hashFunction(name: HashName): StringHash {
  switch (name) {
    case "fnv1a":
      return fnv1a32;
    case "murmur3":
      return murmur3_32;
    case "xxhash32":
      return xxhash32;
    case "md5":
      return md5_32;
  }
}

/** Where `parseAddressKey` leaves its result; reuse one per balancer to avoid allocation. */
export interface ParsedAddress {
  /** The address as 32-bit words in network order: one for IPv4, four for IPv6. */
  readonly words: Uint32Array;
  /** 1 (IPv4) or 4 (IPv6). */
  count: number;
  /** The port after the address ("1.2.3.4:80", "[::1]:80"), or 0 when there is none. */
  port: number;
}

/** A reusable result for `parseAddressKey`. */
export function newParsedAddress(): ParsedAddress {
  return { words: new Uint32Array(4), count: 0, port: 0 };
}

/**
 * Parses a key that is an IP address, with an optional port: "10.1.2.3", "10.1.2.3:5555",
 * "2001:db8::1", "[2001:db8::1]:5555", "fe80::1%eth0". IPv4-mapped IPv6 ("::ffff:1.2.3.4")
 * is read as the IPv4 address, because that is how a dual-stack socket reports an IPv4
 * client and the kernel would see an IPv4 packet. Returns false when the key is not an
 * address; `out` is then undefined.
 */
export function parseAddressKey(key: string, out: ParsedAddress): boolean {
  out.port = 0;
  const length = key.length;
  if (length === 0) return false;
  if (key.charCodeAt(0) === 0x5b /* [ */) {
    const close = key.indexOf("]");
    if (close < 0) return false;
    if (close + 1 < length) {
      if (key.charCodeAt(close + 1) !== 0x3a /* : */) return false;
      const port = parsePort(key, close + 2, length);
      if (port < 0) return false;
      out.port = port;
    }
    return parseIPv6(key, 1, close, out);
  }
  const firstColon = key.indexOf(":");
  if (firstColon < 0) return parseIPv4Into(key, 0, length, out);
  if (key.indexOf(":", firstColon + 1) < 0) {
    // Exactly one colon: IPv4 with a port.
    const port = parsePort(key, firstColon + 1, length);
    if (port < 0) return false;
    out.port = port;
    return parseIPv4Into(key, 0, firstColon, out);
  }
  return parseIPv6(key, 0, length, out);
}

function parseIPv4Into(text: string, start: number, end: number, out: ParsedAddress): boolean {
  const value = parseIPv4(text, start, end);
  if (value < 0) return false;
  out.words[0] = value;
  out.count = 1;
  return true;
}

/** Dotted-quad IPv4 in text[start, end) as an unsigned 32-bit number, or -1. */
export function parseIPv4(text: string, start: number, end: number): number {
  let value = 0;
  let octet = 0;
  let digits = 0;
  let dots = 0;
  for (let i = start; i < end; i++) {
    const c = text.charCodeAt(i);
    if (c === 0x2e /* . */) {
      if (digits === 0 || dots === 3) return -1;
      value = value * 256 + octet;
      octet = 0;
      digits = 0;
      dots++;
    } else if (c >= 0x30 && c <= 0x39) {
      octet = octet * 10 + (c - 0x30);
      if (++digits > 3 || octet > 255) return -1;
    } else {
      return -1;
    }
  }
  if (dots !== 3 || digits === 0) return -1;
  return value * 256 + octet;
}

function parsePort(text: string, start: number, end: number): number {
  if (start >= end || end - start > 5) return -1;
  let port = 0;
  for (let i = start; i < end; i++) {
    const c = text.charCodeAt(i);
    if (c < 0x30 || c > 0x39) return -1;
    port = port * 10 + (c - 0x30);
  }
  return port > 65535 ? -1 : port;
}

/** IPv6 text in text[start, end) (zone index allowed) into out.words; false if invalid. */
function parseIPv6(text: string, start: number, end: number, out: ParsedAddress): boolean {
  const zone = text.indexOf("%", start);
  if (zone >= 0 && zone < end) end = zone;
  const words = out.words;
  // Up to eight 16-bit groups; `gap` is the group index where "::" stood (-1: none).
  let count = 0;
  let gap = -1;
  let i = start;
  if (end - start >= 2 && text.charCodeAt(i) === 0x3a && text.charCodeAt(i + 1) === 0x3a) {
    gap = 0;
    i += 2;
  }
  const groups = scratchGroups;
  while (i < end) {
    // An embedded IPv4 tail ("::ffff:1.2.3.4", "64:ff9b::1.2.3.4") takes two groups.
    let j = i;
    let hasDot = false;
    while (j < end && text.charCodeAt(j) !== 0x3a) {
      if (text.charCodeAt(j) === 0x2e) hasDot = true;
      j++;
    }
    if (hasDot) {
      if (j !== end || count > 6) return false;
      const v4 = parseIPv4(text, i, end);
      if (v4 < 0) return false;
      groups[count++] = Math.floor(v4 / 65536);
      groups[count++] = v4 & 0xffff;
      i = end;
      break;
    }
    if (j === i || j - i > 4 || count === 8) return false;
    let group = 0;
    for (let k = i; k < j; k++) {
      const digit = hexDigit(text.charCodeAt(k));
      if (digit < 0) return false;
      group = (group << 4) | digit;
    }
    groups[count++] = group;
    i = j;
    if (i < end) {
      // At a colon: "::" marks the gap, a single colon must be followed by a group.
      i++;
      if (i < end && text.charCodeAt(i) === 0x3a) {
        if (gap >= 0) return false;
        gap = count;
        i++;
      } else if (i === end) {
        return false;
      }
    }
  }
  if (gap < 0 ? count !== 8 : count > 7) return false;
  if (gap >= 0) {
    const missing = 8 - count;
    for (let k = count - 1; k >= gap; k--) groups[k + missing] = groups[k];
    for (let k = gap; k < gap + missing; k++) groups[k] = 0;
  }
  const groups0 = groups[0] * 65536 + groups[1];
  const groups1 = groups[2] * 65536 + groups[3];
  const groups2 = groups[4] * 65536 + groups[5];
  const groups3 = groups[6] * 65536 + groups[7];
  if (groups0 === 0 && groups1 === 0 && groups2 === 0xffff) {
    words[0] = groups3;
    out.count = 1;
    return true;
  }
  words[0] = groups0;
  words[1] = groups1;
  words[2] = groups2;
  words[3] = groups3;
  out.count = 4;
  return true;
}

const scratchGroups = new Uint32Array(8);

function hexDigit(c: number): number {
  if (c >= 0x30 && c <= 0x39) return c - 0x30;
  const lower = c | 0x20;
  if (lower >= 0x61 && lower <= 0x66) return lower - 0x61 + 10;
  return -1;
}

/**
 * The 32-bit value IPVS hashes for an address: the IPv4 address itself, or the XOR of the
 * four words of an IPv6 address (ip_vs_dh_hashkey, ip_vs_sh_hashkey).
 */
export function foldAddress(address: ParsedAddress): number {
  const w = address.words;
  return address.count === 1 ? w[0] : (w[0] ^ w[1] ^ w[2] ^ w[3]) >>> 0;
}

/**
 * GOLDEN_RATIO_32 of include/linux/hash.h (Linux 6.x): 2^32 × (3 − √5) / 2 rounded, the
 * multiplier of `hash_32`. Older IPVS code multiplied by 2654435761 and kept the *low* 8
 * bits; current dh and sh use `hash_32` and keep the high ones.
 */
export const GOLDEN_RATIO_32 = 0x61c88647;

/**
 * `hash_32(value, bits)` of include/linux/hash.h: `value × GOLDEN_RATIO_32` in 32-bit
 * arithmetic, of which the top `bits` bits are kept (the high bits are the well-mixed ones).
 */
export function kernelHash32(value: number, bits: number): number {
  return Math.imul(value, GOLDEN_RATIO_32) >>> (32 - bits);
}

/**
 * The 32-bit number an IPVS hashing scheduler hashes for `key`: the folded address, plus
 * the port when `withPort` (sh-port: `ntohs(port) + ntohl(addr)`, both in host order, wrapping
 * at 2^32). A key that is not an address (a header, cookie or URL) is first hashed to 32 bits
 * with FNV-1a and used as the address.
 */
export function ipvsHashInput(key: string, parsed: ParsedAddress, withPort: boolean): number {
  if (!parseAddressKey(key, parsed)) return fnv1a32(key);
  const fold = foldAddress(parsed);
  return withPort ? (fold + parsed.port) >>> 0 : fold;
}

/** IPVS dh/sh table bits: IP_VS_DH_TAB_BITS = IP_VS_SH_TAB_BITS = 8. */
export const IPVS_HASH_BITS = 8;
/** IPVS dh/sh table size: 256 buckets. */
export const IPVS_HASH_BUCKETS = 1 << IPVS_HASH_BITS;

/**
 * ip_vs_sh_hashkey / ip_vs_dh_hashkey as in Linux 6.x net/netfilter/ipvs/ip_vs_sh.c:
 * `(offset + hash_32(input, 8)) & 0xff`. dh always passes offset 0; sh-fallback probes
 * further offsets.
 */
export function ipvsBucket(input: number, offset: number): number {
  return (offset + kernelHash32(input, IPVS_HASH_BITS)) & (IPVS_HASH_BUCKETS - 1);
}
