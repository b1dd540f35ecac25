/**
 * The PROXY protocol (HAProxy's proxy-protocol.txt), versions 1 (text) and 2 (binary): a
 * header in front of a TCP stream that tells the receiver the original client and
 * destination addresses, as LVS NAT and direct routing preserve them in the packets.
 */
import { BlockList, isIPv4, isIPv6 } from "node:net";

/** The addresses one PROXY header carries. */
export interface ProxyAddresses {
  /** "tcp4" / "tcp6" (v2 may also say "udp4" / "udp6"). */
  family: "tcp4" | "tcp6" | "udp4" | "udp6";
  sourceAddress: string;
  sourcePort: number;
  destinationAddress: string;
  destinationPort: number;
}

/** A decoded header: addresses, or none for v1 UNKNOWN / v2 LOCAL (health checks). */
export interface ProxyHeader {
  version: 1 | 2;
  addresses: ProxyAddresses | undefined;
}

/** What `decodeProxyHeader` found at the start of a buffer. */
export type ProxyDecodeResult =
  | { status: "incomplete" }
  | { status: "invalid"; reason: string }
  | { status: "ok"; header: ProxyHeader; length: number };

/** The 12-byte signature that starts every v2 header. */
export const PROXY_V2_SIGNATURE = Buffer.from([
  0x0d, 0x0a, 0x0d, 0x0a, 0x00, 0x0d, 0x0a, 0x51, 0x55, 0x49, 0x54, 0x0a,
]);
const V1_PREFIX = "PROXY ";
/** The spec's longest v1 line (TCP6 with the widest addresses), CRLF included. */
export const PROXY_V1_MAX_LENGTH = 107;
/** A v2 header larger than this is refused: it could only be TLVs we do not read. */
const V2_MAX_LENGTH = 16 + 4096;

/** Removes the IPv4-mapped prefix that dual-stack sockets put on IPv4 peers. */
export function unmapIPv4(address: string): string {
  return address.startsWith("::ffff:") && isIPv4(address.slice(7)) ? address.slice(7) : address;
}

/** Encodes a v1 header; mixed families are sent as TCP6 with IPv4-mapped addresses. */
export function encodeProxyV1(addresses: ProxyAddresses | undefined): Buffer {
  if (addresses === undefined) return Buffer.from("PROXY UNKNOWN\r\n", "latin1");
  const [source, destination, v6] = sameFamily(
    addresses.sourceAddress,
    addresses.destinationAddress,
  );
  const proto = v6 ? "TCP6" : "TCP4";
  const line = `PROXY ${proto} ${source} ${destination} ${addresses.sourcePort} ${addresses.destinationPort}\r\n`;
  return Buffer.from(line, "latin1");
}

/** Encodes a v2 header (command PROXY, or LOCAL when no addresses are given). */
export function encodeProxyV2(addresses: ProxyAddresses | undefined): Buffer {
  if (addresses === undefined) {
    const local = Buffer.alloc(16);
    PROXY_V2_SIGNATURE.copy(local, 0);
    local[12] = 0x20; // version 2, command LOCAL
    local[13] = 0x00; // AF_UNSPEC
    return local;
  }
  const [source, destination, v6] = sameFamily(
    addresses.sourceAddress,
    addresses.destinationAddress,
  );
  const stream = addresses.family === "tcp4" || addresses.family === "tcp6";
  const addressBytes = v6 ? 16 : 4;
  const length = addressBytes * 2 + 4;
  const header = Buffer.alloc(16 + length);
  PROXY_V2_SIGNATURE.copy(header, 0);
  header[12] = 0x21; // version 2, command PROXY
  header[13] = (v6 ? 0x20 : 0x10) | (stream ? 0x01 : 0x02);
  header.writeUInt16BE(length, 14);
  if (v6) {
    writeIPv6(source, header, 16);
    writeIPv6(destination, header, 32);
  } else {
    writeIPv4(source, header, 16);
    writeIPv4(destination, header, 20);
  }
  header.writeUInt16BE(addresses.sourcePort, 16 + addressBytes * 2);
  header.writeUInt16BE(addresses.destinationPort, 18 + addressBytes * 2);
  return header;
}

/** Encodes a header of the given version. */
export function encodeProxyHeader(version: 1 | 2, addresses: ProxyAddresses | undefined): Buffer {
  return version === 1 ? encodeProxyV1(addresses) : encodeProxyV2(addresses);
}

/**
 * Decodes a v1 or v2 header at the start of `data`. "incomplete" means more bytes are
 * needed; "invalid" means the stream does not start with a valid header and must be closed.
 */
export function decodeProxyHeader(data: Buffer): ProxyDecodeResult {
  if (data.length === 0) return { status: "incomplete" };
  if (data[0] === 0x0d) return decodeV2(data);
  if (data[0] === 0x50) return decodeV1(data);
  return { status: "invalid", reason: "no PROXY protocol signature" };
}

function decodeV1(data: Buffer): ProxyDecodeResult {
  const prefixLength = Math.min(data.length, V1_PREFIX.length);
  if (data.toString("latin1", 0, prefixLength) !== V1_PREFIX.slice(0, prefixLength)) {
    return { status: "invalid", reason: "no PROXY protocol signature" };
  }
  const end = data.indexOf("\r\n", 0, "latin1");
  if (end < 0) {
    return data.length >= PROXY_V1_MAX_LENGTH
      ? { status: "invalid", reason: "v1 header longer than 107 bytes" }
      : { status: "incomplete" };
  }
  if (end + 2 > PROXY_V1_MAX_LENGTH) {
    return { status: "invalid", reason: "v1 header longer than 107 bytes" };
  }
  const fields = data.toString("latin1", V1_PREFIX.length, end).split(" ");
  const length = end + 2;
  if (fields[0] === "UNKNOWN")
    return { status: "ok", header: { version: 1, addresses: undefined }, length };
  if (fields.length !== 5 || (fields[0] !== "TCP4" && fields[0] !== "TCP6")) {
    return { status: "invalid", reason: "v1 header must be TCP4, TCP6 or UNKNOWN with 4 fields" };
  }
  const [proto, source, destination, sourcePortText, destinationPortText] = fields;
  const valid = proto === "TCP4" ? isIPv4 : isIPv6;
  if (!valid(source) || !valid(destination)) {
    return { status: "invalid", reason: `v1 header has an address that is not ${proto}` };
  }
  const sourcePort = parsePort(sourcePortText);
  const destinationPort = parsePort(destinationPortText);
  if (sourcePort < 0 || destinationPort < 0) {
    return { status: "invalid", reason: "v1 header has an invalid port" };
  }
  const addresses: ProxyAddresses = {
    family: proto === "TCP4" ? "tcp4" : "tcp6",
    sourceAddress: source,
    sourcePort,
    destinationAddress: destination,
    destinationPort,
  };
  return { status: "ok", header: { version: 1, addresses }, length };
}

function decodeV2(data: Buffer): ProxyDecodeResult {
  const signatureLength = Math.min(data.length, 12);
  if (data.compare(PROXY_V2_SIGNATURE, 0, signatureLength, 0, signatureLength) !== 0) {
    return { status: "invalid", reason: "no PROXY protocol signature" };
  }
  if (data.length < 16) return { status: "incomplete" };
  const versionCommand = data[12];
  if (versionCommand >> 4 !== 2)
    return { status: "invalid", reason: "v2 header of unknown version" };
  const command = versionCommand & 0x0f;
  if (command > 1) return { status: "invalid", reason: "v2 header with unknown command" };
  const length = 16 + data.readUInt16BE(14);
  if (length > V2_MAX_LENGTH) return { status: "invalid", reason: "v2 header too long" };
  if (data.length < length) return { status: "incomplete" };
  // LOCAL: the front balancer speaks for itself (a health check); keep the real peer.
  if (command === 0) return { status: "ok", header: { version: 2, addresses: undefined }, length };
  const familyProtocol = data[13];
  const transport = familyProtocol & 0x0f;
  const family = familyProtocol >> 4;
  if ((family !== 1 && family !== 2) || (transport !== 1 && transport !== 2)) {
    // UNSPEC or AF_UNIX: the spec says to accept the header and ignore the addresses.
    return { status: "ok", header: { version: 2, addresses: undefined }, length };
  }
  const addressBytes = family === 1 ? 4 : 16;
  if (length - 16 < addressBytes * 2 + 4) {
    return { status: "invalid", reason: "v2 header too short for its address family" };
  }
  const read = family === 1 ? readIPv4 : readIPv6;
  const addresses: ProxyAddresses = {
    family:
      `${transport === 1 ? "tcp" : "udp"}${family === 1 ? "4" : "6"}` as ProxyAddresses["family"],
    sourceAddress: read(data, 16),
    destinationAddress: read(data, 16 + addressBytes),
    sourcePort: data.readUInt16BE(16 + addressBytes * 2),
    destinationPort: data.readUInt16BE(18 + addressBytes * 2),
  };
  return { status: "ok", header: { version: 2, addresses }, length };
}

/** A set of trusted front balancers, from CIDR blocks or single addresses. */
export class TrustedSources {
  private readonly list = new BlockList();
  readonly empty: boolean;

  constructor(cidrs: readonly string[]) {
    this.empty = cidrs.length === 0;
    for (const entry of cidrs) {
      const [address, prefixText] = entry.split("/");
      const type = isIPv4(address) ? "ipv4" : "ipv6";
      const prefix = prefixText === undefined ? (type === "ipv4" ? 32 : 128) : Number(prefixText);
      this.list.addSubnet(address, prefix, type);
    }
  }

  /** True when the peer address (IPv4-mapped or not) falls in one of the blocks. */
  has(address: string): boolean {
    if (this.empty) return false;
    const plain = unmapIPv4(address);
    return this.list.check(plain, isIPv4(plain) ? "ipv4" : "ipv6");
  }
}

function parsePort(text: string): number {
  if (!/^\d{1,5}$/.test(text)) return -1;
  const value = Number(text);
  return value <= 65535 && !(text.length > 1 && text[0] === "0") ? value : -1;
}

/** Both addresses in one family: IPv4 stays IPv4; a mix is sent as IPv4-mapped IPv6. */
function sameFamily(source: string, destination: string): [string, string, boolean] {
  const s = unmapIPv4(source);
  const d = unmapIPv4(destination);
  const sourceV4 = isIPv4(s);
  const destinationV4 = isIPv4(d);
  if (sourceV4 && destinationV4) return [s, d, false];
  return [sourceV4 ? `::ffff:${s}` : s, destinationV4 ? `::ffff:${d}` : d, true];
}

function writeIPv4(address: string, target: Buffer, offset: number): void {
  const parts = address.split(".");
  for (let i = 0; i < 4; i++) target[offset + i] = Number(parts[i]);
}

function readIPv4(source: Buffer, offset: number): string {
  return `${source[offset]}.${source[offset + 1]}.${source[offset + 2]}.${source[offset + 3]}`;
}

/** Writes the 16 bytes of an IPv6 address (with "::" and an embedded IPv4 tail). */
export function writeIPv6(address: string, target: Buffer, offset: number): void {
  const zone = address.indexOf("%");
  const text = zone >= 0 ? address.slice(0, zone) : address;
  const groups: number[] = [];
  const [head, tail] = text.includes("::") ? text.split("::") : [text, undefined];
  const parse = (part: string): number[] => {
    if (part === "") return [];
    const out: number[] = [];
    for (const piece of part.split(":")) {
      if (piece.includes(".")) {
        const v4 = piece.split(".").map(Number);
        out.push((v4[0] << 8) | v4[1], (v4[2] << 8) | v4[3]);
      } else {
        out.push(Number.parseInt(piece, 16));
      }
    }
    return out;
  };
  const headGroups = parse(head);
  const tailGroups = tail === undefined ? [] : parse(tail);
  groups.push(...headGroups);
  for (let i = headGroups.length + tailGroups.length; i < 8; i++) groups.push(0);
  groups.push(...tailGroups);
  for (let i = 0; i < 8; i++) target.writeUInt16BE(groups[i] ?? 0, offset + i * 2);
}

/** Reads 16 bytes as an IPv6 address in RFC 5952 form (longest zero run as "::"). */
export function readIPv6(source: Buffer, offset: number): string {
  const groups: number[] = [];
  for (let i = 0; i < 8; i++) groups.push(source.readUInt16BE(offset + i * 2));
  if (groups[0] === 0 && groups[1] === 0 && groups[2] === 0 && groups[3] === 0) {
    if (groups[4] === 0 && groups[5] === 0xffff) {
      return `::ffff:${groups[6] >> 8}.${groups[6] & 0xff}.${groups[7] >> 8}.${groups[7] & 0xff}`;
    }
  }
  let bestStart = -1;
  let bestLength = 1;
  for (let i = 0; i < 8; ) {
    if (groups[i] !== 0) {
      i++;
      continue;
    }
    let j = i;
    while (j < 8 && groups[j] === 0) j++;
    if (j - i > bestLength) {
      bestStart = i;
      bestLength = j - i;
    }
    i = j;
  }
  const hex = groups.map((g) => g.toString(16));
  if (bestStart < 0) return hex.join(":");
  const left = hex.slice(0, bestStart).join(":");
  const right = hex.slice(bestStart + bestLength).join(":");
  return `${left}::${right}`;
}
