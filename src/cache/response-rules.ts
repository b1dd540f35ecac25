/**
 * RFC 9111 section 3: may a response be stored by a shared cache, and what is stored. The
 * library http-cache-semantics judges storability and the freshness lifetime; the rules
 * around it are the ones where it is silent or wrong for a shared cache (see docs/cache.md).
 */
import CachePolicy from "http-cache-semantics";
import { parseCacheControl, secondsOf } from "./cache-control.js";
import {
  type CachedResponse,
  type DiskBody,
  ENTRY_OVERHEAD,
  fieldOf,
  fieldsObject,
} from "./cached-response.js";

/** The request as the cache sees it. */
export interface CacheRequest {
  readonly method: string;
  /** Origin-form target: path and query. */
  readonly url: string;
  /** Lower-case host, without a default port. */
  readonly host: string;
  /** node's request headers: lower-case names. */
  readonly headers: Readonly<Record<string, string | string[] | undefined>>;
}

/** A response head accepted for storing, waiting for its body. */
export interface StorableHead {
  readonly status: number;
  readonly statusText: string;
  /** Fields to store (see CachedResponse.headers), Content-Length still to be set. */
  readonly headers: string[];
  readonly policy: CachePolicy;
  readonly vary: string[];
  readonly varyValues: (string | undefined)[];
  readonly tags: readonly string[];
  readonly mustRevalidate: boolean;
  readonly staleWhileRevalidate: number;
  readonly staleIfError: number;
  /** Content-Length of the response, or -1 when it is not known in advance. */
  readonly contentLength: number;
}

/** Hop-by-hop fields (RFC 9110 7.6.1) and fields the cache sets itself. */
const NOT_STORED = new Set([
  "connection",
  "keep-alive",
  "proxy-connection",
  "transfer-encoding",
  "te",
  "trailer",
  "upgrade",
  "age",
  "content-length",
  "surrogate-key",
  "cache-tag",
]);

/** At most this many purge tags per response, each at most this long. */
const MAX_TAGS = 64;
const MAX_TAG_LENGTH = 256;

/**
 * The head to store, or the reason the response is not stored. Beyond the library's rules:
 * no partial content (206) or 304 (only complete responses are stored), nothing with
 * Set-Cookie (nginx's rule: one client's cookie is never handed to another), no
 * `Vary: *`, and nothing that could never be reused (no lifetime and no validator).
 */
export function judgeResponse(
  request: CacheRequest,
  status: number,
  statusText: string,
  rawHeaders: readonly string[],
): StorableHead | string {
  if (request.method !== "GET") return "method";
  if (status === 206 || status === 304) return "partial or not modified";
  const headers = storedFields(rawHeaders);
  if (headers === undefined) return "set-cookie";
  const fields = fieldsObject(headers);
  // Age is not stored (the cache sends its own) but counts in the response's age.
  const age = fieldOf(rawHeaders.map(lowerEven), "age");
  if (age !== undefined) fields.age = age;
  const cacheControl = parseCacheControl(fields["cache-control"]);
  const vary = varyNames(fields.vary);
  if (vary === undefined) return "vary: *";
  // must-revalidate and proxy-revalidate only forbid serving the response stale; the library
  // treats them as "never fresh" (proxy-revalidate) or "always revalidate" (must-revalidate),
  // so it sees the field without them and the cache applies them itself.
  const mustRevalidate =
    cacheControl.has("must-revalidate") ||
    cacheControl.has("proxy-revalidate") ||
    cacheControl.has("no-cache");
  const policyFields = mustRevalidate ? withoutRevalidateDirectives(fields) : fields;
  const policy = new CachePolicy(
    // Only the request fields the library reads for storing: it would keep the whole
    // request head (up to the head size limit, uncounted) of a response with Vary.
    { method: "GET", url: request.url, headers: policyRequestFields(request) },
    { status, headers: policyFields },
    { shared: true },
  );
  if (!policy.storable()) return "not storable";
  const etag = fields.etag;
  const lastModified = fields["last-modified"];
  if (policy.maxAge() <= 0 && etag === undefined && lastModified === undefined) {
    return "no freshness and no validator";
  }
  const length = fieldOf(rawHeaders.map(lowerEven), "content-length");
  return {
    status,
    statusText,
    headers,
    policy,
    vary,
    varyValues: vary.map((name) => requestValue(request, name)),
    tags: tagsOf(rawHeaders),
    mustRevalidate,
    staleWhileRevalidate: secondsOf(cacheControl, "stale-while-revalidate") ?? 0,
    staleIfError: secondsOf(cacheControl, "stale-if-error") ?? 0,
    contentLength: length !== undefined && /^\d+$/.test(length) ? Number(length) : -1,
  };
}

/**
 * The stored response made of an accepted head and its complete body. A body in a file gives
 * its length and the file's size (what the disk store charges for it).
 */
export function completeResponse(
  head: StorableHead,
  body: Buffer | DiskBody,
  bodyLength = Buffer.isBuffer(body) ? body.length : 0,
  fileSize?: number,
): CachedResponse {
  const headers = head.headers.concat("content-length", String(bodyLength));
  let fieldBytes = 0;
  for (const text of headers) fieldBytes += text.length;
  return {
    status: head.status,
    statusText: head.statusText,
    headers,
    body,
    bodyLength,
    // The library's age: the Age the backend sent plus the time since it arrived.
    bornAt: Date.now() - head.policy.age() * 1000,
    lifetime: head.policy.maxAge(),
    vary: head.vary,
    varyValues: head.varyValues,
    tags: head.tags,
    mustRevalidate: head.mustRevalidate,
    staleWhileRevalidate: head.staleWhileRevalidate,
    staleIfError: head.staleIfError,
    etag: fieldOf(headers, "etag"),
    lastModified: fieldOf(headers, "last-modified"),
    size: fileSize ?? bodyLength + fieldBytes + ENTRY_OVERHEAD,
  };
}

/**
 * The stored response updated by a 304 (RFC 9111 4.3.4): the 304's fields replace the stored
 * ones of the same name, except those that describe the body; the policy starts over from
 * the new head, so the response is fresh again.
 */
export function refreshedResponse(
  stored: CachedResponse,
  request: CacheRequest,
  notModifiedHeaders: readonly string[],
): CachedResponse {
  const update = storedFields(notModifiedHeaders) ?? [];
  const replaced = new Set<string>();
  for (let i = 0; i < update.length; i += 2) {
    if (!KEEP_ON_304.has(update[i])) replaced.add(update[i]);
  }
  const headers: string[] = [];
  for (let i = 0; i < stored.headers.length; i += 2) {
    const name = stored.headers[i];
    if (name === "content-length" || replaced.has(name)) continue;
    headers.push(name, stored.headers[i + 1]);
  }
  for (let i = 0; i < update.length; i += 2) {
    if (replaced.has(update[i])) headers.push(update[i], update[i + 1]);
  }
  const head = judgeResponse(request, stored.status, stored.statusText, headers);
  if (typeof head === "string") {
    // The update made it unstorable (no-store in the 304): keep the old entry but stale,
    // so it is never served without asking again.
    return { ...stored, mustRevalidate: true };
  }
  const size = Buffer.isBuffer(stored.body) ? undefined : stored.size;
  return completeResponse({ ...head, tags: stored.tags }, stored.body, stored.bodyLength, size);
}

/** Fields of a 304 that never replace stored ones: they describe the stored body. */
const KEEP_ON_304 = new Set(["content-encoding", "content-range", "content-type"]);

/**
 * The fields to store, lower-cased, without hop-by-hop and own fields; undefined when the
 * response sets a cookie.
 */
function storedFields(raw: readonly string[]): string[] | undefined {
  const headers: string[] = [];
  let connectionTokens: string[] | undefined;
  for (let i = 0; i < raw.length; i += 2) {
    const name = raw[i].toLowerCase();
    if (name === "set-cookie") return undefined;
    if (name === "connection") {
      connectionTokens = raw[i + 1].split(",").map((token) => token.trim().toLowerCase());
    }
    if (NOT_STORED.has(name)) continue;
    headers.push(name, raw[i + 1]);
  }
  if (connectionTokens === undefined) return headers;
  // Fields named by Connection are hop-by-hop too (RFC 9110 7.6.1).
  return headers.filter((_, i) =>
    i % 2 === 0
      ? !connectionTokens.includes(headers[i])
      : !connectionTokens.includes(headers[i - 1]),
  );
}

/** The Vary field names, lower case; undefined for `*` (never matches, so never stored). */
function varyNames(vary: string | undefined): string[] | undefined {
  if (vary === undefined) return [];
  const names: string[] = [];
  for (const part of vary.split(",")) {
    const name = part.trim().toLowerCase();
    if (name === "*") return undefined;
    if (name.length > 0 && !names.includes(name)) names.push(name);
  }
  return names;
}

/** A request field's value as Vary compares it: repeated fields joined. */
export function requestValue(request: CacheRequest, name: string): string | undefined {
  if (name === "host") return request.host;
  const value = request.headers[name];
  return Array.isArray(value) ? value.join(", ") : value;
}

/** Purge tags: Surrogate-Key is space-separated (Fastly), Cache-Tag comma-separated. */
function tagsOf(raw: readonly string[]): string[] {
  const tags: string[] = [];
  for (let i = 0; i < raw.length; i += 2) {
    const name = raw[i].toLowerCase();
    const separator = name === "surrogate-key" ? /\s+/ : name === "cache-tag" ? /,/ : undefined;
    if (separator === undefined) continue;
    for (const part of raw[i + 1].split(separator)) {
      const tag = part.trim();
      if (tag.length > 0 && tag.length <= MAX_TAG_LENGTH && !tags.includes(tag)) tags.push(tag);
      if (tags.length >= MAX_TAGS) return tags;
    }
  }
  return tags;
}

/** True for fields a client must not see: tags are the operator's business. */
export function isTagField(name: string): boolean {
  return (
    name.length >= 9 &&
    (name.toLowerCase() === "surrogate-key" || name.toLowerCase() === "cache-tag")
  );
}

function withoutRevalidateDirectives(fields: Record<string, string>): Record<string, string> {
  const kept = fields["cache-control"]
    .split(",")
    .filter((part) => {
      const name = part.split("=")[0].trim().toLowerCase();
      return name !== "must-revalidate" && name !== "proxy-revalidate";
    })
    .join(",");
  return { ...fields, "cache-control": kept };
}

function policyRequestFields(request: CacheRequest): Record<string, string> {
  const fields: Record<string, string> = { host: request.host };
  for (const name of ["cache-control", "authorization"]) {
    const value = requestValue(request, name);
    if (value !== undefined) fields[name] = value;
  }
  return fields;
}

function lowerEven(text: string, i: number): string {
  return i % 2 === 0 ? text.toLowerCase() : text;
}
