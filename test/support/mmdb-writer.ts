/**
 * A small writer of MaxMind DB files (format 2.0, as specified in MaxMind's "MaxMind DB File
 * Format Specification"), so tests can make GeoLite2-shaped databases of their own networks.
 * It writes an IPv6 tree (IPv4 networks under ::/96, as GeoLite2 does) with 24-bit records;
 * tests check its files with libmaxminddb's `mmdblookup` too, so the writer cannot fool the
 * reader under test alone.
 */
import { isIPv4 } from "node:net";

/** A number written as a double (the type GeoLite2 gives latitude and longitude). */
export class MmdbDouble {
  constructor(readonly value: number) {}
}

/** A value of the data section: maps, arrays, strings, booleans, numbers (whole ≥ 0 as uint32). */
export type MmdbValue =
  | string
  | number
  | boolean
  | MmdbDouble
  | MmdbValue[]
  | { [key: string]: MmdbValue };

/** One network and its record. */
export interface MmdbNetwork {
  /** "81.2.69.0/24" or "2001:db8::/32". */
  network: string;
  data: MmdbValue;
}

const TYPE = {
  string: 2,
  double: 3,
  uint16: 5,
  uint32: 6,
  map: 7,
  uint64: 9,
  array: 11,
  boolean: 14,
} as const;

/** The control byte(s) of a field of `type` and `size`. */
function control(type: number, size: number): Buffer {
  const first = type <= 7 ? type << 5 : 0;
  const extended = type <= 7 ? [] : [type - 7];
  if (size < 29) return Buffer.from([first | size, ...extended]);
  if (size < 285) return Buffer.from([first | 29, ...extended, size - 29]);
  if (size < 65_821) {
    const rest = size - 285;
    return Buffer.from([first | 30, ...extended, rest >> 8, rest & 0xff]);
  }
  const rest = size - 65_821;
  return Buffer.from([first | 31, ...extended, rest >> 16, (rest >> 8) & 0xff, rest & 0xff]);
}

function unsigned(type: number, value: number | bigint): Buffer {
  const bytes: number[] = [];
  for (let v = BigInt(value); v > 0n; v >>= 8n) bytes.unshift(Number(v & 0xffn));
  return Buffer.concat([control(type, bytes.length), Buffer.from(bytes)]);
}

function text(value: string): Buffer {
  const bytes = Buffer.from(value, "utf8");
  return Buffer.concat([control(TYPE.string, bytes.length), bytes]);
}

function map(entries: [string, Buffer][]): Buffer {
  return Buffer.concat([
    control(TYPE.map, entries.length),
    ...entries.flatMap(([key, value]) => [text(key), value]),
  ]);
}

/** Encodes one value of the data section. */
export function encodeValue(value: MmdbValue): Buffer {
  if (typeof value === "string") return text(value);
  if (typeof value === "boolean") return control(TYPE.boolean, value ? 1 : 0);
  if (value instanceof MmdbDouble || (typeof value === "number" && !isUint32(value))) {
    const out = Buffer.alloc(8);
    out.writeDoubleBE(value instanceof MmdbDouble ? value.value : value);
    return Buffer.concat([control(TYPE.double, 8), out]);
  }
  if (typeof value === "number") return unsigned(TYPE.uint32, value);
  if (Array.isArray(value))
    return Buffer.concat([control(TYPE.array, value.length), ...value.map(encodeValue)]);
  return map(Object.entries(value).map(([key, v]) => [key, encodeValue(v)]));
}

function isUint32(value: number): boolean {
  return Number.isInteger(value) && value >= 0 && value <= 0xffff_ffff;
}

/** The network's first `prefix` bits as 0/1, in a 128-bit tree (IPv4 under ::/96). */
function networkBits(network: string): number[] {
  const [host, length] = network.split("/");
  const v4 = isIPv4(host);
  const prefix = (length === undefined ? (v4 ? 32 : 128) : Number(length)) + (v4 ? 96 : 0);
  const bytes = v4 ? [...new Array(12).fill(0), ...host.split(".").map(Number)] : ipv6Bytes(host);
  const bits: number[] = [];
  for (let i = 0; i < prefix; i++) bits.push((bytes[i >> 3] >> (7 - (i & 7))) & 1);
  return bits;
}

function ipv6Bytes(host: string): number[] {
  const [head, tail] = host.split("::");
  const groups = (part: string | undefined) =>
    part === undefined || part === "" ? [] : part.split(":").map((g) => Number.parseInt(g, 16));
  const left = groups(head);
  const right = groups(tail);
  const all = [...left, ...new Array(8 - left.length - right.length).fill(0), ...right];
  return all.flatMap((g) => [g >> 8, g & 0xff]);
}

interface TrieNode {
  children: [Child, Child];
}
type Child = TrieNode | { data: number } | undefined;

/** Writes a database holding `networks` (more specific networks win inside less specific ones). */
export function writeMmdb(
  networks: readonly MmdbNetwork[],
  options: { databaseType: string; description?: string },
): Buffer {
  // The data section: each distinct record once.
  const offsets = new Map<string, number>();
  const data: Buffer[] = [];
  let dataLength = 0;
  const root: TrieNode = { children: [undefined, undefined] };
  const sorted = [...networks].sort(
    (a, b) => networkBits(a.network).length - networkBits(b.network).length,
  );
  for (const { network, data: value } of sorted) {
    const key = JSON.stringify(value);
    let offset = offsets.get(key);
    if (offset === undefined) {
      offset = dataLength;
      const encoded = encodeValue(value);
      data.push(encoded);
      dataLength += encoded.length;
      offsets.set(key, offset);
    }
    const bits = networkBits(network);
    let node = root;
    for (let depth = 0; depth < bits.length; depth++) {
      const bit = bits[depth];
      if (depth === bits.length - 1) {
        node.children[bit] = { data: offset };
        break;
      }
      let child = node.children[bit];
      if (child === undefined || "data" in child) {
        child = { children: [child, child] };
        node.children[bit] = child;
      }
      node = child;
    }
  }
  // Nodes numbered breadth first, the root 0.
  const order: TrieNode[] = [root];
  const index = new Map<TrieNode, number>([[root, 0]]);
  for (let i = 0; i < order.length; i++) {
    for (const child of order[i].children) {
      if (child !== undefined && !("data" in child) && !index.has(child)) {
        index.set(child, order.length);
        order.push(child);
      }
    }
  }
  const nodeCount = order.length;
  const tree = Buffer.alloc(nodeCount * 6);
  order.forEach((node, i) => {
    node.children.forEach((child, side) => {
      const value =
        child === undefined
          ? nodeCount
          : "data" in child
            ? nodeCount + 16 + child.data
            : (index.get(child) as number);
      tree.writeUIntBE(value, i * 6 + side * 3, 3);
    });
  });
  const metadata = map([
    ["node_count", unsigned(TYPE.uint32, nodeCount)],
    ["record_size", unsigned(TYPE.uint16, 24)],
    ["ip_version", unsigned(TYPE.uint16, 6)],
    ["database_type", text(options.databaseType)],
    ["languages", Buffer.concat([control(TYPE.array, 1), text("en")])],
    ["binary_format_major_version", unsigned(TYPE.uint16, 2)],
    ["binary_format_minor_version", unsigned(TYPE.uint16, 0)],
    ["build_epoch", unsigned(TYPE.uint64, BigInt(Math.floor(Date.now() / 1000)))],
    ["description", map([["en", text(options.description ?? "ballast test database")]])],
  ]);
  return Buffer.concat([
    tree,
    Buffer.alloc(16),
    ...data,
    Buffer.from("abcdef4d61784d696e642e636f6d", "hex"),
    metadata,
  ]);
}

/** A GeoLite2-Country/City record for a country on a continent, optionally with a location. */
export function geoRecord(
  country: string,
  continent: string,
  location?: { latitude: number; longitude: number },
): MmdbValue {
  const record: { [key: string]: MmdbValue } = {
    continent: { code: continent, geoname_id: 6_255_148, names: { en: continent } },
    country: { iso_code: country, geoname_id: 2_921_044, names: { en: country } },
    registered_country: { iso_code: country, geoname_id: 2_921_044, names: { en: country } },
  };
  if (location !== undefined) {
    record.location = {
      accuracy_radius: 100,
      latitude: new MmdbDouble(location.latitude),
      longitude: new MmdbDouble(location.longitude),
      time_zone: "UTC",
    };
  }
  return record;
}
