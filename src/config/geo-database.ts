/**
 * A MaxMind-format database (GeoLite2/GeoIP2 Country or City, or any file of that layout)
 * that a dns listener's regions look clients up in. It is read and checked whenever a config
 * is loaded (`check`, `start`, every reload), so a missing or corrupt file is a config error
 * rather than a listener that silently places nobody, and a replaced file is a new database
 * that a reload applies.
 */
import { createHash } from "node:crypto";
import { closeSync, constants, fstatSync, openSync, readSync } from "node:fs";
import { Reader, type Response } from "mmdb-lib";

/** The largest file read: GeoIP2 City is a few hundred MB; more is the wrong file. */
const MAX_DATABASE_BYTES = 1 << 30;

/** Decoded records kept (by their offset in the file); many networks share one record. */
const CACHED_RECORDS = 20_000;

/** A point on the earth, in degrees. */
export interface Coordinates {
  latitude: number;
  longitude: number;
}

/** What the database says of one address: its network's length and what the record holds. */
export interface GeoFacts {
  /** The length of the database's network holding the address (the ECS scope it is valid for). */
  prefix: number;
  /** ISO 3166-1 alpha-2 country code ("DE"), when the record has one. */
  country?: string;
  /** Continent code ("EU"), when the record has one. */
  continent?: string;
  /** Where the address is (City databases), when the record says. */
  location?: Coordinates;
}

/** The parts of a GeoLite2/GeoIP2 record this reads; everything else is ignored. */
interface GeoRecord {
  country?: { iso_code?: unknown };
  registered_country?: { iso_code?: unknown };
  continent?: { code?: unknown };
  location?: { latitude?: unknown; longitude?: unknown };
}

/** A bounded cache of decoded records for the reader: cleared whole when full. */
class RecordCache {
  private readonly entries = new Map<string | number, unknown>();
  get(key: string | number): unknown {
    return this.entries.get(key);
  }
  set(key: string | number, value: unknown): void {
    if (this.entries.size >= CACHED_RECORDS) this.entries.clear();
    this.entries.set(key, value);
  }
}

/** A loaded database; `lookup` places an address. */
export class GeoDatabase {
  private readonly reader: Reader<Response>;
  /** Facts per decoded record: the reader hands out one object per record while cached. */
  private readonly facts = new WeakMap<object, Omit<GeoFacts, "prefix">>();

  constructor(
    readonly path: string,
    bytes: Buffer,
    /** SHA-256 of the file: a reload compares it. */
    readonly digest: string,
  ) {
    this.reader = new Reader<Response>(bytes, { cache: new RecordCache() });
  }

  /** The database's own name for its kind ("GeoLite2-City"). */
  get type(): string {
    return String(this.reader.metadata.databaseType);
  }

  /** When the database was built. */
  get built(): Date {
    return this.reader.metadata.buildEpoch;
  }

  /** The file's own description of its layout. */
  get metadata(): Reader<Response>["metadata"] {
    return this.reader.metadata;
  }

  /** Looks `addresses` up, throwing what the reader throws: a damaged file shows here. */
  probe(addresses: readonly string[]): void {
    for (const address of addresses) this.reader.get(address);
  }

  /** What the database says of `address` (an IPv4 or IPv6 address as text); undefined when it has no record. */
  lookup(address: string): GeoFacts | undefined {
    let found: [Response | null, number];
    try {
      found = this.reader.getWithPrefixLength(address);
    } catch {
      // An IPv6 address in an IPv4-only database, or a damaged tree: nobody is placed.
      return undefined;
    }
    const [response, prefix] = found;
    if (response === null || typeof response !== "object") return undefined;
    const record = response as GeoRecord;
    let facts = this.facts.get(record);
    if (facts === undefined) {
      facts = readFacts(record);
      this.facts.set(record, facts);
    }
    return { prefix, ...facts };
  }

  /**
   * Configs are compared and shown as JSON: the digest stands for the file's content, so a
   * replaced file makes a different config, and the admin API shows which file is in force.
   */
  toJSON(): Record<string, string> {
    return {
      path: this.path,
      type: this.type,
      built: this.built.toISOString(),
      sha256: this.digest,
    };
  }
}

/** The country, continent and location of a record, checked for type and range. */
function readFacts(record: GeoRecord): Omit<GeoFacts, "prefix"> {
  const facts: Omit<GeoFacts, "prefix"> = {};
  const country = record.country?.iso_code ?? record.registered_country?.iso_code;
  if (typeof country === "string") facts.country = country.toUpperCase();
  const continent = record.continent?.code;
  if (typeof continent === "string") facts.continent = continent.toUpperCase();
  const latitude = record.location?.latitude;
  const longitude = record.location?.longitude;
  if (
    typeof latitude === "number" &&
    typeof longitude === "number" &&
    Math.abs(latitude) <= 90 &&
    Math.abs(longitude) <= 180
  ) {
    facts.location = { latitude, longitude };
  }
  return facts;
}

/** Reads and checks the database at `path`: the database, or what is wrong with it. */
export function loadGeoDatabase(
  path: string,
): { database: GeoDatabase; problem?: undefined } | { problem: string } {
  const read = readWholeFile(path);
  if ("problem" in read) return read;
  const bytes = read.bytes;
  let database: GeoDatabase;
  try {
    database = new GeoDatabase(path, bytes, createHash("sha256").update(bytes).digest("hex"));
  } catch (error) {
    return {
      problem: `${path} is not a MaxMind DB file (${(error as Error).message}); expected a GeoLite2/GeoIP2 Country or City .mmdb file`,
    };
  }
  const metadata = database.metadata;
  if (
    metadata.binaryFormatMajorVersion !== 2 ||
    (metadata.ipVersion !== 4 && metadata.ipVersion !== 6)
  ) {
    return {
      problem: `${path} is a MaxMind DB of format ${metadata.binaryFormatMajorVersion}, IP version ${metadata.ipVersion}; expected format 2, IP version 4 or 6`,
    };
  }
  if (metadata.searchTreeSize + 16 > bytes.length) {
    return { problem: `${path} is cut short: its search tree runs past the end of the file` };
  }
  // A damaged tree or data section shows on the first lookups: better here than per query.
  try {
    database.probe(["1.1.1.1", "8.8.8.8", "81.2.69.142", "127.0.0.1"]);
    if (metadata.ipVersion === 6) database.probe(["2001:4860:4860::8888", "2a00:1450::1"]);
  } catch (error) {
    return { problem: `${path} is damaged: a lookup failed (${(error as Error).message})` };
  }
  return { database };
}

/**
 * Reads a regular file of at most MAX_DATABASE_BYTES. Opened non-blocking, so a path to a
 * FIFO or a device (from a reload sent to the admin API, say) is refused instead of hanging.
 */
function readWholeFile(path: string): { bytes: Buffer } | { problem: string } {
  let fd: number;
  try {
    fd = openSync(path, constants.O_RDONLY | constants.O_NONBLOCK);
  } catch (error) {
    return { problem: `cannot read ${path}: ${readError(error)}` };
  }
  try {
    const stat = fstatSync(fd);
    if (!stat.isFile()) return { problem: `cannot read ${path}: not a regular file` };
    if (stat.size > MAX_DATABASE_BYTES) {
      return {
        problem: `${path} is larger than ${MAX_DATABASE_BYTES >> 20} MiB; expected a .mmdb file`,
      };
    }
    const bytes = Buffer.alloc(stat.size);
    let length = 0;
    for (let n = 1; n > 0 && length < bytes.length; length += n) {
      n = readSync(fd, bytes, length, bytes.length - length, null);
    }
    return { bytes: bytes.subarray(0, length) };
  } catch (error) {
    return { problem: `cannot read ${path}: ${readError(error)}` };
  } finally {
    closeSync(fd);
  }
}

function readError(error: unknown): string {
  const code = (error as NodeJS.ErrnoException).code;
  if (code === "ENOENT") return "ENOENT (no such file)";
  if (code === "EACCES") return "EACCES (permission denied)";
  if (code === "EISDIR") return "EISDIR (it is a directory)";
  return code ?? (error as Error).message;
}
