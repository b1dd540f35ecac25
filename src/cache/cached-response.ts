/** A response held by the cache: its head ready to send, its body (in memory or in a file). */

/** A body kept in a file of the disk store (disk-store.ts); the file's first bytes are it. */
export interface DiskBody {
  /** The file's path. */
  readonly file: string;
  /** SHA-256 of the body, hex: a file loaded at start is checked once against it. */
  readonly sha256: string;
  /** False for a file found at start until one full read matched sha256. */
  verified: boolean;
}

/** One stored response (one variant of one URL). */
export interface CachedResponse {
  readonly status: number;
  readonly statusText: string;
  /**
   * Flat [name, value, ...] with lower-case names: the backend's fields without hop-by-hop
   * fields, Age and tag fields, and with Content-Length set to the stored body's length.
   */
  headers: string[];
  /** The whole body: in memory, or in a file of the disk store. */
  readonly body: Buffer | DiskBody;
  /** Bytes of the body. */
  readonly bodyLength: number;
  /** When the response's age was 0 (ms since the epoch): age is then one subtraction. */
  readonly bornAt: number;
  /** Freshness lifetime in seconds (the policy's, computed once: it parses dates). */
  readonly lifetime: number;
  /** Request fields the response varies on (lower case), and the values they had. */
  readonly vary: readonly string[];
  readonly varyValues: readonly (string | undefined)[];
  /** Purge tags from Surrogate-Key and Cache-Tag. */
  readonly tags: readonly string[];
  /** must-revalidate, proxy-revalidate or no-cache: never served stale (RFC 9111 4.2.4). */
  mustRevalidate: boolean;
  /** Seconds past freshness a response may be served while revalidating or on error. */
  staleWhileRevalidate: number;
  staleIfError: number;
  readonly etag: string | undefined;
  readonly lastModified: string | undefined;
  /** Bytes charged to the store: body, fields and a fixed overhead (on disk: the file). */
  readonly size: number;
}

/** Fixed bytes charged per entry for the objects around the body. */
export const ENTRY_OVERHEAD = 512;

/** The value of a field in a flat lower-case list, several lines joined with ", ". */
export function fieldOf(headers: readonly string[], name: string): string | undefined {
  let value: string | undefined;
  for (let i = 0; i < headers.length; i += 2) {
    if (headers[i] === name)
      value = value === undefined ? headers[i + 1] : `${value}, ${headers[i + 1]}`;
  }
  return value;
}

/** A flat field list as an object (lower-case names, repeated fields joined), for the library. */
export function fieldsObject(headers: readonly string[]): Record<string, string> {
  const object: Record<string, string> = {};
  for (let i = 0; i < headers.length; i += 2) {
    const name = headers[i];
    const value = headers[i + 1];
    object[name] = Object.hasOwn(object, name) ? `${object[name]}, ${value}` : value;
  }
  return object;
}
