/**
 * The hashing key of a request for the hash algorithms (`chash`, `maglev`, `sh`, ...), as the
 * pool's `hash_key` says: client address, URL, path, host, a header, a cookie or a query
 * parameter.
 *
 * Runs once per request, so it reads `rawHeaders` (Node builds `req.headers` lazily, and a
 * proxy that only passes headers on never needs it) and scans for the one cookie or query
 * parameter wanted instead of parsing them all. As HAProxy's `balance hdr()`/`url_param`, an
 * absent or empty value gives no key (undefined); the caller decides what that means.
 */
import type { IncomingMessage } from "node:http";
import type { HashKeyConfig } from "../config/schema/pool.js";

/** The key for `hashKey` from this request, or undefined when the request has none. */
export function hashKeyOf(req: IncomingMessage, hashKey: HashKeyConfig): string | undefined {
  switch (hashKey) {
    case "client_ip":
      return clientAddress(req);
    case "client_ip_port":
      return clientAddressAndPort(req);
    case "url":
      return nonEmpty(req.url);
    case "path":
      return pathOf(req.url);
    case "host":
      return hostnameOf(rawHeaderValue(req.rawHeaders, "host"));
  }
  if ("header" in hashKey) return nonEmpty(rawHeaderValue(req.rawHeaders, hashKey.header));
  if ("cookie" in hashKey) return requestCookie(req.rawHeaders, hashKey.cookie);
  return queryParameter(req.url, hashKey.query);
}

/** The client's address, with IPv4-mapped IPv6 ("::ffff:1.2.3.4") written as plain IPv4. */
export function clientAddress(req: IncomingMessage): string | undefined {
  const address = req.socket.remoteAddress;
  if (address === undefined) return undefined;
  // A dual-stack listener reports IPv4 clients in mapped form; the same client should hash
  // the same whichever way the listener was bound.
  return address.startsWith("::ffff:") && address.includes(".") ? address.slice(7) : address;
}

/** "address:port", IPv6 in brackets, so `sh` with `hash_port` can split it unambiguously. */
function clientAddressAndPort(req: IncomingMessage): string | undefined {
  const address = clientAddress(req);
  if (address === undefined) return undefined;
  const port = req.socket.remotePort ?? 0;
  return address.includes(":") ? `[${address}]:${port}` : `${address}:${port}`;
}

/** The path of a request target, without the query. */
function pathOf(url: string | undefined): string | undefined {
  if (url === undefined || url.length === 0) return undefined;
  const query = url.indexOf("?");
  return query < 0 ? url : url.slice(0, query);
}

/** The host name of a Host header: lower case, port removed (nginx's `$host`). */
function hostnameOf(host: string | undefined): string | undefined {
  if (host === undefined || host.length === 0) return undefined;
  let end = host.length;
  if (host.charCodeAt(0) === 0x5b /* [ */) {
    const close = host.indexOf("]");
    if (close > 0) end = close + 1;
  } else {
    const colon = host.lastIndexOf(":");
    if (colon >= 0) end = colon;
  }
  const name = end === host.length ? host : host.slice(0, end);
  return name.length === 0 ? undefined : name.toLowerCase();
}

/**
 * The value of the first header called `name` (any case) in Node's `rawHeaders`, or
 * undefined. Compares lengths first so most names are rejected without a character compare.
 */
export function rawHeaderValue(rawHeaders: string[], name: string): string | undefined {
  const length = name.length;
  for (let i = 0; i < rawHeaders.length; i += 2) {
    const candidate = rawHeaders[i];
    if (candidate.length === length && equalsIgnoringCase(candidate, name)) {
      return rawHeaders[i + 1];
    }
  }
  return undefined;
}

/** The value of cookie `name` across every Cookie header of a request, or undefined. */
export function requestCookie(rawHeaders: string[], name: string): string | undefined {
  for (let i = 0; i < rawHeaders.length; i += 2) {
    const candidate = rawHeaders[i];
    if (candidate.length !== 6 || !equalsIgnoringCase(candidate, "cookie")) continue;
    const value = cookieValue(rawHeaders[i + 1], name);
    if (value !== undefined) return value;
  }
  return undefined;
}

/**
 * The value of cookie `name` in one Cookie header ("a=1; b=2"), or undefined when it is
 * absent or empty. Surrounding double quotes (allowed by RFC 6265) are removed.
 */
export function cookieValue(header: string, name: string): string | undefined {
  let from = 0;
  while (from < header.length) {
    const at = header.indexOf(name, from);
    if (at < 0) return undefined;
    const afterName = at + name.length;
    from = afterName;
    // The name must start a pair (start of header, or after ';' and optional spaces) and be
    // followed by '=', so "xBALLAST=" or "BALLASTx=" do not match "BALLAST".
    if (header.charCodeAt(afterName) !== 0x3d /* = */ || !startsPair(header, at)) continue;
    let end = header.indexOf(";", afterName + 1);
    if (end < 0) end = header.length;
    let start = afterName + 1;
    while (end > start && isSpace(header.charCodeAt(end - 1))) end--;
    while (start < end && isSpace(header.charCodeAt(start))) start++;
    if (
      end - start >= 2 &&
      header.charCodeAt(start) === 0x22 &&
      header.charCodeAt(end - 1) === 0x22
    ) {
      start++;
      end--;
    }
    return end > start ? header.slice(start, end) : undefined;
  }
  return undefined;
}

/**
 * The value of query parameter `name` in a request target, percent-decoded ('+' as space),
 * or undefined when it is absent or empty. The first occurrence wins.
 */
export function queryParameter(url: string | undefined, name: string): string | undefined {
  if (url === undefined) return undefined;
  const query = url.indexOf("?");
  if (query < 0) return undefined;
  let end = url.indexOf("#", query);
  if (end < 0) end = url.length;
  let from = query + 1;
  while (from < end) {
    const at = url.indexOf(name, from);
    if (at < 0 || at >= end) return undefined;
    const afterName = at + name.length;
    from = afterName;
    const before = url.charCodeAt(at - 1);
    if (before !== 0x3f /* ? */ && before !== 0x26 /* & */) continue;
    const next = url.charCodeAt(afterName);
    if (afterName === end || next === 0x26) return undefined; // "?name" or "?name&..."
    if (next !== 0x3d /* = */) continue;
    let valueEnd = url.indexOf("&", afterName + 1);
    if (valueEnd < 0 || valueEnd > end) valueEnd = end;
    if (valueEnd === afterName + 1) return undefined;
    return decodeQueryValue(url.slice(afterName + 1, valueEnd));
  }
  return undefined;
}

/** Percent-decodes a query value only when it needs it; a malformed one is kept as sent. */
function decodeQueryValue(value: string): string {
  if (value.indexOf("%") < 0 && value.indexOf("+") < 0) return value;
  const spaced = value.replaceAll("+", " ");
  try {
    return decodeURIComponent(spaced);
  } catch {
    // Clients that send "%zz" still get a stable key: the raw text.
    return spaced;
  }
}

function startsPair(header: string, at: number): boolean {
  let i = at - 1;
  while (i >= 0 && isSpace(header.charCodeAt(i))) i--;
  return i < 0 || header.charCodeAt(i) === 0x3b; /* ; */
}

function isSpace(code: number): boolean {
  return code === 0x20 || code === 0x09;
}

function nonEmpty(value: string | undefined): string | undefined {
  return value === undefined || value.length === 0 ? undefined : value;
}

/** ASCII case-insensitive equality of two strings of the same length. */
function equalsIgnoringCase(a: string, b: string): boolean {
  for (let i = 0; i < a.length; i++) {
    const x = a.charCodeAt(i);
    const y = b.charCodeAt(i);
    if (x === y) continue;
    // Letters differ by 0x20 between cases; anything else must match exactly.
    if ((x | 0x20) !== (y | 0x20) || (x | 0x20) < 0x61 || (x | 0x20) > 0x7a) return false;
  }
  return true;
}
