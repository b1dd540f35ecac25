/**
 * The lean path of a plain cache hit on ballast's own server: the stored response's head is
 * serialized once and kept with the entry, and only what changes with time (Age, the ttl of
 * Cache-Status, and Date when the backend sent none) makes it be serialized again, at most
 * once a second. A small body is kept in the same buffer as its head, so a hit is one
 * `write` of bytes that already exist; a large body leaves with its head in one `writev`,
 * never copied.
 */
import { STATUS_CODES } from "node:http";
import type { CachedResponse } from "../cache/cached-response.js";
import { fieldOf } from "../cache/cached-response.js";
import { httpDate } from "./server/client-response.js";

/** Bodies up to this size share one buffer with their head: one write, no writev. */
const COPY_LIMIT = 16 * 1024;

/** A hit's bytes for one second of a stored response's age. */
interface HitBytes {
  age: number;
  ttl: number;
  /** The second of the Date field, or -1 when the stored response has its own Date. */
  dateSecond: number;
  statusHeaders: boolean;
  /** Status line and fields, ending in the empty line; empty when `bytes` holds the head. */
  head: string;
  /** The body, or head and body together when the body is small. */
  bytes: Buffer;
}

/** What a stored response's hits share, by entry (a refreshed response is a new entry). */
const prepared = new WeakMap<CachedResponse, HitBytes>();
/** Entries that carry their own Date field, by entry, looked up once. */
const hasDate = new WeakMap<CachedResponse, boolean>();

/**
 * The head and body of a fresh hit on `entry` now: `head` is the status line and fields
 * (empty when `bytes` holds head and body together). The entry's body must be in memory.
 */
export function hitBytes(
  entry: CachedResponse,
  statusHeaders: boolean,
  now: number,
): { head: string; bytes: Buffer } {
  const ageExact = (now - entry.bornAt) / 1000;
  const age = Math.max(0, Math.floor(ageExact));
  const ttl = Math.floor(entry.lifetime - ageExact);
  let dated = hasDate.get(entry);
  if (dated === undefined) {
    dated = fieldOf(entry.headers, "date") !== undefined;
    hasDate.set(entry, dated);
  }
  const dateSecond = dated ? -1 : Math.floor(now / 1000);
  const memo = prepared.get(entry);
  if (
    memo !== undefined &&
    memo.age === age &&
    memo.ttl === ttl &&
    memo.dateSecond === dateSecond &&
    memo.statusHeaders === statusHeaders
  ) {
    return memo;
  }
  const made = serialize(entry, age, ttl, dateSecond, statusHeaders);
  prepared.set(entry, made);
  return made;
}

function serialize(
  entry: CachedResponse,
  age: number,
  ttl: number,
  dateSecond: number,
  statusHeaders: boolean,
): HitBytes {
  const reason = entry.statusText || STATUS_CODES[entry.status] || "unknown";
  let head = `HTTP/1.1 ${entry.status} ${reason}\r\n`;
  const fields = entry.headers;
  for (let i = 0; i < fields.length; i += 2) head += `${fields[i]}: ${fields[i + 1]}\r\n`;
  // The Age field is whole seconds (RFC 9111 5.1).
  head += `age: ${age}\r\n`;
  if (statusHeaders) head += `x-cache: HIT\r\ncache-status: ballast; hit; ttl=${ttl}\r\n`;
  if (dateSecond >= 0) head += `date: ${httpDate()}\r\n`;
  head += "\r\n";
  const body = entry.body as Buffer;
  if (body.length > COPY_LIMIT) return { age, ttl, dateSecond, statusHeaders, head, bytes: body };
  const bytes = Buffer.allocUnsafeSlow(head.length + body.length);
  bytes.write(head, 0, "latin1");
  body.copy(bytes, head.length);
  return { age, ttl, dateSecond, statusHeaders, head: "", bytes };
}
