/**
 * Requests a stored response answers by itself: conditional requests (RFC 9110 13.2, a 304
 * from the cache, RFC 9111 4.3.2) and range requests (RFC 9110 14, one range served from a
 * complete stored response).
 */
import type { CachedResponse } from "./cached-response.js";

type RequestHeaders = Readonly<Record<string, string | string[] | undefined>>;

/** True when the client's validators match the stored response: the answer is 304. */
export function isNotModified(entry: CachedResponse, headers: RequestHeaders): boolean {
  const ifNoneMatch = headers["if-none-match"];
  if (ifNoneMatch !== undefined) {
    // If-None-Match takes precedence over If-Modified-Since (RFC 9110 13.2.2).
    const etag = entry.etag;
    if (etag === undefined) return false;
    const list = String(ifNoneMatch);
    if (list.trim() === "*") return true;
    const opaque = weakless(etag);
    return list.split(",").some((candidate) => weakless(candidate.trim()) === opaque);
  }
  const ifModifiedSince = headers["if-modified-since"];
  if (ifModifiedSince === undefined || entry.lastModified === undefined) return false;
  const since = Date.parse(String(ifModifiedSince));
  const modified = Date.parse(entry.lastModified);
  return Number.isFinite(since) && Number.isFinite(modified) && modified <= since;
}

/** The weak comparison of entity tags: W/ prefixes do not count. */
function weakless(tag: string): string {
  return tag.startsWith("W/") ? tag.slice(2) : tag;
}

/** The bytes a range request asks for, inclusive. */
export interface ByteRange {
  start: number;
  end: number;
}

/**
 * The one range to send: a ByteRange, `unsatisfiable` (416), or undefined to send the whole
 * response (no Range, several ranges, an If-Range that does not match, a unit other than
 * bytes: all allowed by RFC 9110 14.2).
 */
export function rangeOf(
  entry: CachedResponse,
  headers: RequestHeaders,
): ByteRange | "unsatisfiable" | undefined {
  const range = headers.range;
  if (typeof range !== "string" || entry.status !== 200) return undefined;
  const ifRange = headers["if-range"];
  if (typeof ifRange === "string") {
    // Strong comparison only (RFC 9110 13.1.5): a weak tag never matches.
    const matches = ifRange.startsWith('"')
      ? entry.etag !== undefined && !entry.etag.startsWith("W/") && entry.etag === ifRange
      : entry.lastModified !== undefined && entry.lastModified === ifRange;
    if (!matches) return undefined;
  }
  const match = /^bytes=(\d*)-(\d*)$/i.exec(range.trim());
  if (match === null) return undefined;
  const size = entry.bodyLength;
  const [, first, last] = match;
  if (first === "" && last === "") return undefined;
  if (first === "") {
    const suffix = Number(last);
    if (suffix === 0) return "unsatisfiable";
    return { start: Math.max(0, size - suffix), end: size - 1 };
  }
  const start = Number(first);
  if (start >= size) return "unsatisfiable";
  const end = last === "" ? size - 1 : Math.min(Number(last), size - 1);
  if (end < start) return undefined;
  return { start, end };
}
