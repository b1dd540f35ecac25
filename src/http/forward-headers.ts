/**
 * Header rewriting of a proxied exchange, by RFC 9110 7.6.1 and RFC 9112: hop-by-hop fields
 * (the fixed list and any named in `Connection`) stop here; X-Forwarded-For/-Proto/-Host
 * and X-Real-IP are set, and an inbound chain is kept only from a trusted proxy (otherwise a
 * client could forge its address); an RFC 7239 `Forwarded` from anyone else is dropped, and
 * ballast's own element is appended when asked. One pass over `rawHeaders`; `req.headers` is
 * never built.
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
  /** Append ballast's own `Forwarded` element (RFC 7239; HAProxy `option forwarded`). */
  rfc7239: boolean;
  /** Its `by=`: "address" (the address the client reached), an obfuscated name, or none. */
  rfc7239By: string | undefined;
  /** Pass field names with `_` on (nginx `underscores_in_headers`); dropped otherwise. */
  underscores: boolean;
  /** Most header fields a request may have; more is answered 431. */
  maxFields: number;
}

/** What the scan of a request head found, besides the headers to send upstream. */
export interface RequestHead {
  /**
   * The first fields for the upstream request as text (`name: value\r\n` lines): the client's
   * lines that pass unchanged, copied as they arrived, with Host rewritten in place when
   * needed; "" when every field is in `headers` (see requestFields()).
   */
  fields: string;
  /** Flat [name, value, name, value...] for the upstream request, after `fields`. */
  headers: string[];
  /** The Host header as sent (first one). */
  host: string | undefined;
  /** More than one Host header: RFC 9112 3.2 says answer 400. */
  duplicateHost: boolean;
  /** The request has a body (Content-Length > 0 or Transfer-Encoding). */
  hasBody: boolean;
  /** The body is chunked (Transfer-Encoding), so it goes upstream chunked too. */
  chunked: boolean;
  /**
   * Index of the Cookie value in requestFields(head), -1 when none (sticky strips its
   * cookie there).
   */
  cookieIndex: number;
  /** The id to log and to send upstream: a trusted inbound X-Request-Id, or `fallbackId`. */
  requestId: string;
  /** 0, or the status the head deserves instead of being forwarded (400, 431, 501). */
  refusal: number;
  /** Why, for the log. */
  refusalReason: string;
}

/**
 * Every upstream field of `head` as one flat [name, value, ...] list, for whoever edits them
 * (the sticky cookie, the cache's validators, an upgrade): the lines passed as text are
 * split into `headers`, in front, and `fields` becomes "".
 */
export function requestFields(head: RequestHead): string[] {
  const text = head.fields;
  if (text.length === 0) return head.headers;
  const split: string[] = [];
  let pos = 0;
  while (pos < text.length) {
    const next = text.indexOf("\r\n", pos);
    const colon = text.indexOf(":", pos);
    // Every line is `name: value` (request-parser.ts checked it, or scanRequestHead wrote it).
    split.push(text.slice(pos, colon), text.slice(colon + 2, next));
    pos = next + 2;
  }
  head.fields = "";
  head.headers = split.concat(head.headers);
  return head.headers;
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
  // The parser hands over every field; the count is checked here (431, never forwarded
  // with some of its fields left out).
  if (raw.length > 2 * policy.maxFields) {
    refusal = 431;
    refusalReason = "too many header fields";
  }
  // ballast's server keeps the field section as received: the lines that pass unchanged
  // are copied from it in runs (no string built per field); an upgrade, or a section whose
  // lines are not all `name: value`, gets every field joined from `rawHeaders`.
  const text = upgrade ? undefined : (req as { fieldText?: string }).fieldText;
  let fields = "";
  /** Start of the run of unchanged lines not yet copied into `fields`. */
  let runStart = 0;
  let lineEnd = 0;
  /** Fields in `fields` and in the current run. */
  let inText = 0;
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
  /** A trusted inbound Forwarded list, when ballast appends its own element to it. */
  let forwarded: string | undefined;
  let requestId: string | undefined;
  let transferEncoding: string | undefined;
  let hostSeen = false;
  for (let i = 0; i < raw.length; i += 2) {
    const name = raw[i];
    const value = raw[i + 1];
    const lineStart = lineEnd;
    if (text !== undefined) lineEnd = text.indexOf("\r\n", lineStart) + 2;
    const lower = name.toLowerCase();
    /** The value to send: `value`, another one, or undefined when the field stops here. */
    let out: string | undefined = value;
    if (FOLDABLE.test(lower)) {
      if (refusal === 0 && FRAMING.has(lower.replaceAll("_", "-").replace(/-+/g, "-"))) {
        refusal = 400;
        refusalReason = `header field ${name} looks like a framing field`;
      }
      if (!policy.underscores && lower.includes("_")) out = undefined;
    }
    if (out === undefined) {
      // dropped above
    } else if (REQUEST_HOP.has(lower)) {
      out = undefined;
      if (lower === "connection") connection = connection ? `${connection},${value}` : value;
      else if (lower === "transfer-encoding") {
        hasBody = true;
        chunked = true;
        transferEncoding = transferEncoding === undefined ? value : `${transferEncoding},${value}`;
      } else if (lower === "upgrade" && upgrade) out = value;
    } else {
      switch (lower) {
        case "host":
          if (host !== undefined) {
            duplicateHost = true;
            out = undefined;
            break;
          }
          host = value;
          hostSeen = true;
          if (refusal === 0 && !isValidAuthority(value)) {
            refusal = 400;
            refusalReason = "malformed Host";
          }
          if (authority !== undefined) out = authority;
          break;
        case "content-length":
          if (value !== "0") hasBody = true;
          break;
        case "cookie":
          cookieIndex = text === undefined ? headers.length + 1 : 2 * inText + 1;
          break;
        case "x-request-id":
          if (trusted) requestId = value;
          out = undefined;
          break;
        case "x-forwarded-for":
          if (!rewrite) break;
          // Several X-Forwarded-For fields form one list, in order (RFC 9110 5.3).
          if (trusted) forwardedFor = forwardedFor ? `${forwardedFor}, ${value}` : value;
          out = undefined;
          break;
        case "x-forwarded-proto":
          if (!rewrite) break;
          if (trusted) forwardedProto = value;
          out = undefined;
          break;
        case "x-forwarded-host":
          if (!rewrite) break;
          if (trusted) forwardedHost = value;
          out = undefined;
          break;
        case "x-real-ip":
          if (!rewrite) break;
          if (trusted) realIp = value;
          out = undefined;
          break;
        case "forwarded":
          if (!rewrite) break;
          // From a trusted proxy the lines pass as received, unless ballast appends its own
          // element: then they become one list with it last (RFC 7239 4).
          if (!trusted) out = undefined;
          else if (policy.rfc7239) {
            forwarded = forwarded === undefined ? value : `${forwarded}, ${value}`;
            out = undefined;
          }
          break;
      }
    }
    if (text === undefined) {
      if (out !== undefined) headers.push(name, out);
    } else if (out === value) {
      inText++; // the line goes on as it arrived, with its run
    } else {
      // The run ends before this line, which is dropped or rewritten.
      fields += text.slice(runStart, lineStart);
      runStart = lineEnd;
      if (out !== undefined) {
        fields += `${name}: ${out}\r\n`;
        inText++;
      }
    }
  }
  if (text !== undefined) fields = runStart === 0 ? text : fields + text.slice(runStart);
  if (transferEncoding !== undefined && !ONLY_CHUNKED.test(transferEncoding) && refusal === 0) {
    // RFC 9112 6.3: without chunked last the length is unknown (400); RFC 9112 6.1: other
    // codings before it would reach the backend mislabelled as plain chunked data (501).
    if (ENDS_CHUNKED.test(transferEncoding)) {
      refusal = 501;
      refusalReason = `transfer coding "${transferEncoding}" is not supported`;
    } else {
      refusal = 400;
      refusalReason = "Transfer-Encoding does not end in chunked";
    }
  }
  if (authority !== undefined) {
    if (!hostSeen) headers.push("host", authority);
    host = authority;
  } else if (host === undefined) {
    // An HTTP/1.0 request may omit Host; the upstream request is HTTP/1.1, which needs one:
    // the address the client reached stands in (nginx's $host falls back the same way).
    host = localAuthority(req);
    headers.push("host", host);
  }
  const head: RequestHead = {
    fields,
    headers,
    host,
    duplicateHost,
    hasBody,
    chunked,
    cookieIndex,
    requestId: "",
    refusal,
    refusalReason,
  };
  if (connection !== undefined && connectionNames(connection) !== undefined) {
    // Fields named in Connection are dropped wherever they are: every field as a list.
    head.cookieIndex = dropConnectionOptions(requestFields(head), connection, cookieIndex);
  }
  const added = head.headers;
  if (upgrade) added.push("connection", "upgrade");
  if (rewrite) {
    added.push(
      "x-forwarded-for",
      forwardedFor === undefined ? peer : `${forwardedFor}, ${peer}`,
      "x-forwarded-proto",
      forwardedProto ?? policy.proto,
      "x-real-ip",
      realIp ?? peer,
    );
    const xfh = forwardedHost ?? host;
    if (xfh !== undefined) added.push("x-forwarded-host", xfh);
    if (policy.rfc7239) {
      const own = forwardedElement(req, peer, policy, host);
      added.push("forwarded", forwarded === undefined ? own : `${forwarded}, ${own}`);
    }
  }
  requestId ??= fallbackId;
  added.push("x-request-id", requestId);
  head.requestId = requestId;
  return head;
}

/** Characters of an RFC 9110 token; any other value is sent as a quoted-string. */
const TOKEN = /^[!#$%&'*+.^_`|~0-9A-Za-z-]+$/;

/** `value` as an RFC 7239 value: a token as is, anything else quoted (`"`, `\` escaped). */
function forwardedValue(value: string): string {
  return TOKEN.test(value) ? value : `"${value.replace(/["\\]/g, "\\$&")}"`;
}

/** An RFC 7239 node: IPv4 plain, IPv6 bracketed (and so quoted), "unknown" when there is none. */
function forwardedNode(address: string): string {
  if (address.length === 0) return "unknown";
  return forwardedValue(address.includes(":") ? `[${address}]` : address);
}

/** This hop's Forwarded element, `for=...;proto=...;host=...` and `;by=...` when configured. */
function forwardedElement(
  req: IncomingMessage,
  peer: string,
  policy: ForwardingPolicy,
  host: string,
): string {
  const element = `for=${forwardedNode(peer)};proto=${policy.proto};host=${forwardedValue(host)}`;
  const by = policy.rfc7239By;
  if (by === undefined) return element;
  if (by !== "address") return `${element};by=${by}`;
  const local = req.socket.localAddress ?? "";
  const plain = local.startsWith("::ffff:") && local.includes(".") ? local.slice(7) : local;
  return `${element};by=${forwardedNode(plain)}`;
}

/** `address:port` the client connected to, IPv6 in brackets. */
function localAuthority(req: IncomingMessage): string {
  const address = req.socket.localAddress ?? "localhost";
  const port = req.socket.localPort;
  const plain = address.startsWith("::ffff:") && address.includes(".") ? address.slice(7) : address;
  const name = plain.includes(":") ? `[${plain}]` : plain;
  return port === undefined ? name : `${name}:${port}`;
}

/** The field names a Connection header's options name (RFC 9110 7.6.1); undefined for none. */
function connectionNames(connection: string): Set<string> | undefined {
  const single = connection.toLowerCase();
  if (single === "keep-alive" || single === "close") return undefined; // most requests
  let named: Set<string> | undefined;
  for (const token of connection.split(",")) {
    const option = token.trim().toLowerCase();
    if (option.length === 0 || CONNECTION_OPTIONS.has(option) || NEVER_DROPPED.has(option)) {
      continue;
    }
    named ??= new Set();
    named.add(option);
  }
  return named;
}

/** Removes the fields a Connection header names (RFC 9110 7.6.1); returns the new cookie index. */
export function dropConnectionOptions(
  headers: string[],
  connection: string,
  cookieIndex: number,
): number {
  const named = connectionNames(connection);
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
