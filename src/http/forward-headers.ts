/**
 * Header rewriting of a proxied exchange, by RFC 9110 7.6.1 and RFC 9112: hop-by-hop fields
 * (the fixed list and any named in `Connection`) stop here; X-Forwarded-For/-Proto/-Host
 * and X-Real-IP are set, and an inbound chain is kept only from a trusted proxy (otherwise a
 * client could forge its address). One pass over `rawHeaders`; `req.headers` is never built.
 */
import type { IncomingMessage } from "node:http";
import type { AddressSet } from "./trusted-proxies.js";

/** How X-Forwarded-* are written for one listener, and which fields it accepts. */
export interface ForwardingPolicy {
  /** Write X-Forwarded-* and X-Real-IP (false: pass the inbound ones through untouched). */
  enabled: boolean;
  trusted: AddressSet;
  /** The listener's scheme, for X-Forwarded-Proto. */
  proto: "http" | "https";
  /** Pass field names with `_` on (nginx `underscores_in_headers`); dropped otherwise. */
  underscores: boolean;
  /** Most header fields a request may have; more is answered 431. */
  maxFields: number;
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
  /** 0, or the status the head deserves instead of being forwarded (400, 431, 501). */
  refusal: number;
  /** Why, for the log. */
  refusalReason: string;
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
 * Fields a client may not strip by naming them in Connection: the framing of the request
 * (`Connection: content-length` would send the body upstream as a second, unrouted request)
 * and Host, which every backend needs (RFC 9112 3.2).
 */
const NEVER_DROPPED = new Set(["host", "content-length", "transfer-encoding"]);

/**
 * Names whose look-alikes (`Content_Length`, `Transfer---Encoding`) are refused: a backend
 * that folds `_` into `-` (CGI, WSGI, PHP) would frame or route the request differently.
 */
const FRAMING = new Set([
  "content-length",
  "transfer-encoding",
  "host",
  "connection",
  "upgrade",
  "te",
  "trailer",
  "expect",
  "keep-alive",
  "proxy-connection",
]);
const ONLY_CHUNKED = /^[ \t]*chunked[ \t]*$/i;
const ENDS_CHUNKED = /(?:^|,)[ \t]*chunked[ \t]*$/i;

/** A name that might fold into another: an underscore or a run of dashes. */
const FOLDABLE = /_|--/;

/**
 * A Host value or absolute-form authority (RFC 3986 3.2.2), strictly: a name of letters,
 * digits, `-`, `.`, `_`, `~`, or a bracketed IPv6 literal, and an optional port. No spaces,
 * slashes, user info or percent escapes, which backends parse in different ways.
 */
const AUTHORITY = /^(?:[A-Za-z0-9._~-]+|\[[0-9A-Fa-f:.]+\])(?::[0-9]{0,5})?$/;

/** True when `value` is a valid Host (empty is valid: RFC 9112 3.2 allows it). */
export function isValidAuthority(value: string): boolean {
  return value.length === 0 || AUTHORITY.test(value);
}

/** The client's address, IPv4-mapped IPv6 written as plain IPv4. */
export function peerAddress(req: IncomingMessage): string {
  const address = req.socket.remoteAddress ?? "";
  return address.startsWith("::ffff:") && address.includes(".") ? address.slice(7) : address;
}

/**
 * Scans the request head once and builds the upstream header list, refusing what a backend
 * could read differently (see RequestHead.refusal). With `upgrade`, the Upgrade field and
 * `Connection: upgrade` are kept (WebSocket and other upgrades). `authority`, the authority
 * of an absolute-form target, replaces Host (RFC 9112 3.2.2), so the backend sees the host
 * the request was routed on.
 */
export function scanRequestHead(
  req: IncomingMessage,
  policy: ForwardingPolicy,
  fallbackId: string,
  upgrade: boolean,
  authority: string | undefined,
): RequestHead {
  const raw = req.rawHeaders;
  let refusal = 0;
  let refusalReason = "";
  const refuse = (status: number, reason: string) => {
    if (refusal === 0) {
      refusal = status;
      refusalReason = reason;
    }
  };
  // node stops at maxHeadersCount, set one above the limit: reaching it means fields were
  // left out, and a request is never forwarded without some of its fields.
  if (raw.length > 2 * policy.maxFields) refuse(431, "too many header fields");
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
  let transferEncoding: string | undefined;
  let hostIndex = -1;
  for (let i = 0; i < raw.length; i += 2) {
    const name = raw[i];
    const value = raw[i + 1];
    const lower = name.toLowerCase();
    if (FOLDABLE.test(lower)) {
      if (FRAMING.has(lower.replaceAll("_", "-").replace(/-+/g, "-"))) {
        refuse(400, `header field ${name} looks like a framing field`);
      }
      if (!policy.underscores && lower.includes("_")) continue;
    }
    if (REQUEST_HOP.has(lower)) {
      if (lower === "connection") connection = connection ? `${connection},${value}` : value;
      else if (lower === "transfer-encoding") {
        hasBody = true;
        chunked = true;
        transferEncoding = transferEncoding === undefined ? value : `${transferEncoding},${value}`;
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
        if (!isValidAuthority(value)) refuse(400, "malformed Host");
        if (authority !== undefined) {
          hostIndex = headers.length + 1;
          headers.push(name, authority);
          continue;
        }
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
  if (transferEncoding !== undefined && !ONLY_CHUNKED.test(transferEncoding)) {
    // RFC 9112 6.3: without chunked last the length is unknown (400); RFC 9112 6.1: other
    // codings before it would reach the backend mislabelled as plain chunked data (501).
    if (ENDS_CHUNKED.test(transferEncoding)) {
      refuse(501, `transfer coding "${transferEncoding}" is not supported`);
    } else refuse(400, "Transfer-Encoding does not end in chunked");
  }
  if (authority !== undefined) {
    if (hostIndex < 0) headers.push("host", authority);
    host = authority;
  } else if (host === undefined) {
    // An HTTP/1.0 request may omit Host; the upstream request is HTTP/1.1, which needs one:
    // the address the client reached stands in (nginx's $host falls back the same way).
    host = localAuthority(req);
    headers.push("host", host);
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
  return {
    headers,
    host,
    duplicateHost,
    hasBody,
    chunked,
    cookieIndex,
    requestId,
    refusal,
    refusalReason,
  };
}

/** `address:port` the client connected to, IPv6 in brackets. */
function localAuthority(req: IncomingMessage): string {
  const address = req.socket.localAddress ?? "localhost";
  const port = req.socket.localPort;
  const plain = address.startsWith("::ffff:") && address.includes(".") ? address.slice(7) : address;
  const name = plain.includes(":") ? `[${plain}]` : plain;
  return port === undefined ? name : `${name}:${port}`;
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
