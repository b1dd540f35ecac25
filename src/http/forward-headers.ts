/**
 * Header rewriting of a proxied exchange, by RFC 9110 7.6.1 and RFC 9112: hop-by-hop fields
 * (the fixed list and any named in `Connection`) stop here; X-Forwarded-For/-Proto/-Host
 * and X-Real-IP are set, and an inbound chain is kept only from a trusted proxy (otherwise a
 * client could forge its address). One pass over `rawHeaders`; `req.headers` is never built.
 */
import type { IncomingMessage } from "node:http";
import type { AddressSet } from "./trusted-proxies.js";

/** How X-Forwarded-* are written for one listener. */
export interface ForwardingPolicy {
  /** Write X-Forwarded-* and X-Real-IP (false: pass the inbound ones through untouched). */
  enabled: boolean;
  trusted: AddressSet;
  /** The listener's scheme, for X-Forwarded-Proto. */
  proto: "http" | "https";
}

/** What the scan of a request head found, besides the headers to send upstream. */
export interface RequestHead {
  /** Flat [name, value, name, value...] for the upstream request. */
  headers: string[];
  /** The Host header as sent (first one). */
  host: string | undefined;
  /** More than one Host header: RFC 9112 3.2 says answer 400. */
  duplicateHost: boolean;
  /** The request has a body (Content-Length > 0 or Transfer-Encoding). */
  hasBody: boolean;
  /** The body is chunked (Transfer-Encoding), so it goes upstream chunked too. */
  chunked: boolean;
  /** Index in `headers` of the Cookie value, -1 when none (sticky strips its cookie). */
  cookieIndex: number;
  /** The id to log and to send upstream: a trusted inbound X-Request-Id, or `fallbackId`. */
  requestId: string;
}

/** Hop-by-hop request fields that never go upstream as received. */
const REQUEST_HOP = new Set([
  "connection",
  "keep-alive",
  "proxy-connection",
  "te",
  "trailer",
  "transfer-encoding",
  "upgrade",
  // The proxy answers `Expect: 100-continue` itself (as nginx does) and then streams the body.
  "expect",
]);

/** Connection options that name no header field. */
const CONNECTION_OPTIONS = new Set(["close", "keep-alive", "upgrade"]);
/**
 * Fields a client may not strip by naming them in Connection: Host is end-to-end and every
 * backend needs it (RFC 9112 3.2), so `Connection: host` would turn a request into one the
 * backend must reject.
 */
const NEVER_DROPPED = new Set(["host"]);

/** The client's address, IPv4-mapped IPv6 written as plain IPv4. */
export function peerAddress(req: IncomingMessage): string {
  const address = req.socket.remoteAddress ?? "";
  return address.startsWith("::ffff:") && address.includes(".") ? address.slice(7) : address;
}

/**
 * Scans the request head once and builds the upstream header list. With `upgrade`, the
 * Upgrade field and `Connection: upgrade` are kept (WebSocket and other upgrades).
 */
export function scanRequestHead(
  req: IncomingMessage,
  policy: ForwardingPolicy,
  fallbackId: string,
  upgrade: boolean,
): RequestHead {
  const raw = req.rawHeaders;
  const headers: string[] = [];
  const peer = peerAddress(req);
  const rewrite = policy.enabled;
  const trusted = rewrite && policy.trusted.has(peer);
  let host: string | undefined;
  let duplicateHost = false;
  let hasBody = false;
  let chunked = false;
  let cookieIndex = -1;
  let connection: string | undefined;
  let forwardedFor: string | undefined;
  let forwardedProto: string | undefined;
  let forwardedHost: string | undefined;
  let realIp: string | undefined;
  let requestId: string | undefined;
  for (let i = 0; i < raw.length; i += 2) {
    const name = raw[i];
    const value = raw[i + 1];
    const lower = name.toLowerCase();
    if (REQUEST_HOP.has(lower)) {
      if (lower === "connection") connection = connection ? `${connection},${value}` : value;
      else if (lower === "transfer-encoding") {
        hasBody = true;
        chunked = true;
      } else if (lower === "upgrade" && upgrade) headers.push(name, value);
      continue;
    }
    switch (lower) {
      case "host":
        if (host !== undefined) {
          duplicateHost = true;
          continue;
        }
        host = value;
        break;
      case "content-length":
        if (value !== "0") hasBody = true;
        break;
      case "cookie":
        cookieIndex = headers.length + 1;
        break;
      case "x-request-id":
        if (trusted) requestId = value;
        continue;
      case "x-forwarded-for":
        if (!rewrite) break;
        // Several X-Forwarded-For fields form one list, in order (RFC 9110 5.3).
        if (trusted) forwardedFor = forwardedFor ? `${forwardedFor}, ${value}` : value;
        continue;
      case "x-forwarded-proto":
        if (!rewrite) break;
        if (trusted) forwardedProto = value;
        continue;
      case "x-forwarded-host":
        if (!rewrite) break;
        if (trusted) forwardedHost = value;
        continue;
      case "x-real-ip":
        if (!rewrite) break;
        if (trusted) realIp = value;
        continue;
    }
    headers.push(name, value);
  }
  if (connection !== undefined)
    cookieIndex = dropConnectionOptions(headers, connection, cookieIndex);
  if (upgrade) headers.push("connection", "upgrade");
  if (rewrite) {
    headers.push(
      "x-forwarded-for",
      forwardedFor === undefined ? peer : `${forwardedFor}, ${peer}`,
      "x-forwarded-proto",
      forwardedProto ?? policy.proto,
      "x-real-ip",
      realIp ?? peer,
    );
    const xfh = forwardedHost ?? host;
    if (xfh !== undefined) headers.push("x-forwarded-host", xfh);
  }
  requestId ??= fallbackId;
  headers.push("x-request-id", requestId);
  return { headers, host, duplicateHost, hasBody, chunked, cookieIndex, requestId };
}

/** Removes the fields a Connection header names (RFC 9110 7.6.1); returns the new cookie index. */
export function dropConnectionOptions(
  headers: string[],
  connection: string,
  cookieIndex: number,
): number {
  let named: Set<string> | undefined;
  for (const token of connection.split(",")) {
    const option = token.trim().toLowerCase();
    if (option.length === 0 || CONNECTION_OPTIONS.has(option) || NEVER_DROPPED.has(option)) {
      continue;
    }
    named ??= new Set();
    named.add(option);
  }
  if (named === undefined) return cookieIndex;
  let write = 0;
  let cookie = -1;
  for (let read = 0; read < headers.length; read += 2) {
    if (named.has(headers[read].toLowerCase())) continue;
    if (read + 1 === cookieIndex) cookie = write + 1;
    headers[write] = headers[read];
    headers[write + 1] = headers[read + 1];
    write += 2;
  }
  headers.length = write;
  return cookie;
}
