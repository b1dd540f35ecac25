/**
 * The file of one response in the disk store. The body comes first, so it streams in and out
 * with plain offsets; the head follows as JSON, then a fixed trailer:
 *
 *   body | head JSON | u32 head length | SHA-256 of the head JSON (32 bytes) | "BALLAST1"
 *
 * A file is whole only if it ends with the magic, the head's checksum matches and the body
 * is exactly as long as the head says: a truncated, cut-short or overwritten file fails one
 * of these and is dropped, never served. The body's own SHA-256 is in the head, checked the
 * first time a file found at start is read whole.
 */
import { createHash } from "node:crypto";
import { open } from "node:fs/promises";

const MAGIC = Buffer.from("BALLAST1");
const CHECKSUM_BYTES = 32;
const TRAILER_BYTES = 4 + CHECKSUM_BYTES + MAGIC.length;
/** A head beyond this is not ours (heads are header fields plus a few numbers). */
const MAX_HEAD_BYTES = 1024 * 1024;

/** What a file says about its response: everything but the body. */
export interface DiskHead {
  /** The cache key (host and target). */
  key: string;
  status: number;
  statusText: string;
  /** The stored fields, flat and lower case, Content-Length included. */
  headers: string[];
  bornAt: number;
  lifetime: number;
  vary: string[];
  varyValues: (string | null)[];
  tags: string[];
  mustRevalidate: boolean;
  staleWhileRevalidate: number;
  staleIfError: number;
  bodyLength: number;
  /** SHA-256 of the body, hex. */
  bodySha256: string;
}

/** The bytes written after the body: head JSON and trailer. */
export function encodeTail(head: DiskHead): Buffer {
  const json = Buffer.from(JSON.stringify(head));
  const trailer = Buffer.alloc(TRAILER_BYTES);
  trailer.writeUInt32BE(json.length, 0);
  createHash("sha256").update(json).digest().copy(trailer, 4);
  MAGIC.copy(trailer, 4 + CHECKSUM_BYTES);
  return Buffer.concat([json, trailer]);
}

/** The head of a stored file and its size, or why the file is not a whole response. */
export async function readDiskHead(
  path: string,
): Promise<{ head: DiskHead; fileSize: number } | string> {
  const file = await open(path, "r");
  try {
    const { size } = await file.stat();
    if (size < TRAILER_BYTES) return "shorter than a trailer";
    const trailer = Buffer.alloc(TRAILER_BYTES);
    await file.read(trailer, 0, TRAILER_BYTES, size - TRAILER_BYTES);
    if (!trailer.subarray(4 + CHECKSUM_BYTES).equals(MAGIC)) return "no trailer (truncated)";
    const headBytes = trailer.readUInt32BE(0);
    if (headBytes > MAX_HEAD_BYTES || headBytes > size - TRAILER_BYTES) return "bad head length";
    const json = Buffer.alloc(headBytes);
    await file.read(json, 0, headBytes, size - TRAILER_BYTES - headBytes);
    const checksum = createHash("sha256").update(json).digest();
    if (!checksum.equals(trailer.subarray(4, 4 + CHECKSUM_BYTES))) return "head checksum mismatch";
    const head = parseHead(json.toString());
    if (head === undefined) return "malformed head";
    if (head.bodyLength !== size - TRAILER_BYTES - headBytes) return "body length mismatch";
    return { head, fileSize: size };
  } finally {
    await file.close();
  }
}

/** The head if every field has its type; a file is data from outside like any other. */
function parseHead(text: string): DiskHead | undefined {
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch {
    return undefined;
  }
  if (typeof value !== "object" || value === null) return undefined;
  const head = value as Record<string, unknown>;
  const strings = (list: unknown, nullable = false) =>
    Array.isArray(list) &&
    list.every((item) => typeof item === "string" || (nullable && item === null));
  const ok =
    typeof head.key === "string" &&
    Number.isInteger(head.status) &&
    typeof head.statusText === "string" &&
    strings(head.headers) &&
    (head.headers as string[]).length % 2 === 0 &&
    Number.isFinite(head.bornAt) &&
    Number.isFinite(head.lifetime) &&
    strings(head.vary) &&
    strings(head.varyValues, true) &&
    (head.varyValues as unknown[]).length === (head.vary as unknown[]).length &&
    strings(head.tags) &&
    typeof head.mustRevalidate === "boolean" &&
    Number.isFinite(head.staleWhileRevalidate) &&
    Number.isFinite(head.staleIfError) &&
    Number.isSafeInteger(head.bodyLength) &&
    typeof head.bodySha256 === "string";
  return ok ? (head as unknown as DiskHead) : undefined;
}
