/**
 * The strict HTTP/1.1 request parser of ballast's own server, over the raw bytes of a client
 * connection. It keeps every rule node's llhttp enforces (with its lenient flags off) and the
 * proxy relies on, and answers a malformed head with a status instead of guessing:
 *
 * - the request line is `method SP target SP HTTP/d.d` with single spaces, a method llhttp
 *   knows, and a target of visible ASCII (no space, tab, control character or byte > 0x7f);
 * - every line ends in CRLF: a bare LF or bare CR is a 400, and so is obs-fold (a line that
 *   starts with whitespace), whitespace before a colon, a name that is not a token and a value
 *   with a control character;
 * - Content-Length is digits only, given once (two fields are a 400 even when equal, a list
 *   too), never together with Transfer-Encoding, whose last coding must be chunked;
 * - HTTP/1.1 needs Host;
 * - a head above `maxHeaderSize` is a 431, or a 414 when the request line alone is;
 * - chunked bodies: see chunked-decoder.ts.
 *
 * What llhttp lets through but a proxy must not forward (HTTP/2.0 in a request line, TE with
 * HTTP/1.0, look-alike framing fields, GET with a body, a bad Host value) is left to the
 * checks after it (request-checks.ts, forward-headers.ts), the same for both servers.
 *
 * The parser stops after each message (so pipelined requests are answered in order, one at
 * a time) and after the head of an upgrade or CONNECT request (the bytes after it belong to
 * whatever the connection becomes).
 */
import { HeadBytes } from "../head-bytes.js";
import { ChunkedDecoder } from "./chunked-decoder.js";

/** Where the parts of a request go; the sink reads the head's fields off the parser. */
export interface RequestSink {
  /** A complete head: method, url, version and fields are set on the parser. */
  onRequestHead(): void;
  /** Body bytes (a view of the socket's chunk, chunk framing removed). */
  onRequestData(chunk: Buffer): void;
  /** The request (head and body) is complete. */
  onRequestEnd(): void;
}

enum State {
  /** Before the first byte of a request. */
  Idle,
  Head,
  Length,
  Chunked,
  /** The message is complete; `next()` starts the next one. */
  Done,
  /** An upgrade or CONNECT head was read: the rest is not HTTP. */
  Upgraded,
  Error,
}

/** The request methods llhttp accepts (node's `http.METHODS` in Node 20). */
const METHODS = new Set([
  "ACL",
  "BIND",
  "CHECKOUT",
  "CONNECT",
  "COPY",
  "DELETE",
  "GET",
  "HEAD",
  "LINK",
  "LOCK",
  "M-SEARCH",
  "MERGE",
  "MKACTIVITY",
  "MKCALENDAR",
  "MKCOL",
  "MOVE",
  "NOTIFY",
  "OPTIONS",
  "PATCH",
  "POST",
  "PROPFIND",
  "PROPPATCH",
  "PURGE",
  "PUT",
  "QUERY",
  "REBIND",
  "REPORT",
  "SEARCH",
  "SOURCE",
  "SUBSCRIBE",
  "TRACE",
  "UNBIND",
  "UNLINK",
  "UNLOCK",
  "UNSUBSCRIBE",
]);

/**
 * A request target: visible ASCII only, no space, tab, DEL or other control, and no byte
 * above 0x7f (RFC 3986 has none: such a target is percent-encoded). llhttp refuses those
 * bytes too, so a backend behind ballast would answer them with a parse error, which the
 * proxy would count as the backend's failure (and retry on the next backend).
 */
const TARGET = /^[\x21-\x7e]+$/;
/**
 * A whole field section, checked with one match: each line a token (RFC 9110 5.6.2), a colon
 * with no whitespace before it, and a value of visible characters, spaces, tabs and obs-text,
 * ending in CRLF (so no obs-fold, no bare CR or LF, no NUL).
 */
const FIELD_SECTION = /^(?:[!#$%&'*+\-.^_`|~0-9A-Za-z]+:[\t\x20-\x7e\x80-\xff]*\r\n)*$/;
const DIGITS = /^[0-9]{1,15}$/;
/** The shape of a request line, checked before the rest of a slow head arrives. */
const REQUEST_LINE = /^[A-Z-]+ [\x21-\x7e]+ HTTP\/[0-9]\.[0-9]\r\n$/;
const ENDS_CHUNKED = /(?:^|,)[ \t]*chunked[ \t]*$/i;
const CRLF_CRLF = Buffer.from("\r\n\r\n");

/** Parser error codes, named as node names llhttp's (responses.ts maps them to a status). */
export const HEADER_OVERFLOW = "HPE_HEADER_OVERFLOW";
export const URI_TOO_LONG = "HPE_URI_TOO_LONG";
export const INVALID = "HPE_INVALID";

/** Parses the requests of one client connection, one at a time. */
export class RequestParser {
  private state = State.Idle;
  /** Bytes of the head seen so far when it spans several chunks. */
  private readonly pending: HeadBytes;
  /** The request line of the head being received was found whole and checked. */
  private lineChecked = false;
  private remaining = 0;
  private chunked: ChunkedDecoder | undefined;
  private readonly onData: (slice: Buffer) => void;

  // ---- the head just parsed (valid from onRequestHead until next()) ----
  method = "";
  url = "";
  versionMajor = 1;
  versionMinor = 1;
  /** Flat [name, value, ...] as sent (names' case kept, values trimmed of OWS). */
  rawHeaders: string[] = [];
  /**
   * The field section as received (every line ending in CRLF), when each line is exactly
   * `name: value` as `rawHeaders` has it (one space after the colon, no other OWS), so the
   * proxy can pass kept lines on as they are instead of joining the strings again; else
   * undefined.
   */
  fieldText: string | undefined = undefined;
  /** The connection may carry another request after this one. */
  keepAlive = true;
  /** An upgrade (Upgrade with `Connection: upgrade`) or CONNECT request. */
  upgrade = false;
  /** The Expect field's value, or undefined. */
  expect: string | undefined = undefined;
  /** The body is framed by Content-Length > 0 or chunked coding. */
  hasBody = false;

  /** Why the last execute() failed, its node-style code and the status it deserves. */
  error = "";
  code = "";
  status = 0;

  constructor(
    private readonly sink: RequestSink,
    private readonly maxHeaderSize: number,
  ) {
    this.onData = (slice) => sink.onRequestData(slice);
    // Room for the largest head allowed plus its blank line, so a full store means too large.
    this.pending = new HeadBytes(maxHeaderSize + 4);
  }

  /** True before the first byte of the next request (an idle keep-alive connection). */
  get idle(): boolean {
    return this.state === State.Idle;
  }

  /** True while a head is being received. */
  get inHead(): boolean {
    return this.state === State.Head;
  }

  /** True once the current message is complete (until next()). */
  get done(): boolean {
    return this.state === State.Done;
  }

  /** True once an upgrade or CONNECT head was parsed. */
  get upgraded(): boolean {
    return this.state === State.Upgraded;
  }

  /** True while a body is being received. */
  get inBody(): boolean {
    return this.state === State.Length || this.state === State.Chunked;
  }

  /** Starts on the next request after a complete one. */
  next(): void {
    this.state = State.Idle;
    this.rawHeaders = [];
    this.fieldText = undefined;
  }

  /**
   * Feeds bytes from `chunk[at]` on. Returns the index where parsing stopped: the end of the
   * chunk, the end of a message (`done`), the end of an upgrade head (`upgraded`); or -1 when
   * the bytes are malformed (`error`, `code`, `status` say why).
   */
  execute(chunk: Buffer, at: number): number {
    const end = chunk.length;
    while (at < end) {
      switch (this.state) {
        case State.Idle:
        case State.Head:
          at = this.head(chunk, at);
          if (at < 0) return (this.state as State) === State.Error ? -1 : end;
          break;
        case State.Length: {
          const take = Math.min(this.remaining, end - at);
          this.remaining -= take;
          const data = chunk.subarray(at, at + take);
          at += take;
          this.sink.onRequestData(data);
          if (this.remaining === 0) this.finish();
          break;
        }
        case State.Chunked: {
          const decoder = this.chunked!;
          at = decoder.execute(chunk, at, this.onData);
          if (at < 0) return this.fail(400, INVALID, decoder.error);
          if (decoder.done) this.finish();
          break;
        }
        case State.Error:
          return -1;
        default:
          return at;
      }
    }
    return at;
  }

  /** The connection ended: true when that leaves no request half-read. */
  endOfInput(): boolean {
    return this.state === State.Idle || this.state === State.Done || this.state === State.Upgraded;
  }

  private finish(): void {
    this.state = State.Done;
    this.chunked = undefined;
    this.sink.onRequestEnd();
  }

  private fail(status: number, code: string, reason: string): -1 {
    this.state = State.Error;
    this.status = status;
    this.code = code;
    this.error = reason;
    this.pending.clear();
    return -1;
  }

  /** Reads a head from `at`; the index after it, or -1 (more bytes needed, or an error). */
  private head(chunk: Buffer, at: number): number {
    let buffer = chunk;
    let start = at;
    /** Where bytes not yet checked begin (a slow client's head is not scanned again). */
    let fresh = at;
    /** chunk index = buffer index + shift. */
    let shift = 0;
    const held = this.pending.length;
    if (held > 0) {
      // The head so far (head-bytes.ts: one copy per byte of a slow client's head).
      buffer = this.pending.append(chunk, at);
      start = 0;
      fresh = Math.max(0, held - 3);
      shift = at - held;
    }
    // RFC 9112 2.2: empty lines before a request line are ignored (a client's stray CRLF
    // after a body).
    while (buffer[start] === 13 && buffer[start + 1] === 10) start += 2;
    if (start >= buffer.length || (buffer[start] === 13 && start + 1 === buffer.length)) {
      this.pending.keep(buffer, start);
      this.state = this.pending.length === 0 ? State.Idle : State.Head;
      return -1;
    }
    this.state = State.Head;
    fresh = Math.max(fresh, start);
    const blank = findBlankLine(buffer, fresh);
    const headEnd = blank < 0 ? buffer.length : blank + 2;
    if (blank >= 0 && headEnd - start <= this.maxHeaderSize) {
      // A whole head of allowed size, the usual case: its line ends are checked on the
      // string, with no call into the Buffer per line.
      this.pending.clear();
      this.lineChecked = false;
      const text = buffer.toString("latin1", start, headEnd);
      if (!this.lineEndsAreCrlfIn(text) || !this.parseHead(text)) return -1;
      return blank + 4 + shift;
    }
    if (!this.lineEndsAreCrlf(buffer, start, fresh, blank < 0 ? buffer.length : blank + 4)) {
      return -1;
    }
    if (headEnd - start > this.maxHeaderSize) {
      const lineEnd = buffer.indexOf(10, start);
      return lineEnd < 0 || lineEnd - start > this.maxHeaderSize
        ? this.fail(414, URI_TOO_LONG, "request line too long")
        : this.fail(431, HEADER_OVERFLOW, "request head too large");
    }
    // The head is not whole yet.
    if (!methodMayFollow(buffer, start)) {
      // Not HTTP at all (a TLS hello on the plain port, binary junk): refused at once rather
      // than held until the head's timeout, as llhttp refuses it on its first bytes.
      return this.fail(400, INVALID, "malformed request line");
    }
    if (!this.lineChecked) {
      // The request line is checked as soon as it is whole (HTTP/0.9's `GET /` has no
      // blank line to wait for); its LF can only be among the bytes not seen before.
      const lf = buffer.indexOf(10, fresh);
      if (lf >= 0) {
        if (!REQUEST_LINE.test(buffer.toString("latin1", start, lf + 1))) {
          return this.fail(400, INVALID, "malformed request line");
        }
        this.lineChecked = true;
      }
    }
    this.pending.keep(buffer, start);
    return -1;
  }

  /** Every LF in the head `text` follows a CR (as lineEndsAreCrlf, on a whole head). */
  private lineEndsAreCrlfIn(text: string): boolean {
    for (let lf = text.indexOf("\n"); lf >= 0; lf = text.indexOf("\n", lf + 1)) {
      if (lf === 0 || text.charCodeAt(lf - 1) !== 13) {
        this.fail(400, INVALID, "bare LF in the request head");
        return false;
      }
    }
    return true;
  }

  /** Every LF in `buffer[from, to)` follows a CR (llhttp refuses bare LF in strict mode). */
  private lineEndsAreCrlf(buffer: Buffer, start: number, from: number, to: number): boolean {
    let lf = buffer.indexOf(10, from);
    while (lf >= 0 && lf < to) {
      if (lf === start || buffer[lf - 1] !== 13) {
        this.fail(400, INVALID, "bare LF in the request head");
        return false;
      }
      lf = buffer.indexOf(10, lf + 1);
    }
    return true;
  }

  /** Parses the text of a head: the request line and the fields, each ending in CRLF. */
  private parseHead(text: string): boolean {
    const lineEnd = text.indexOf("\r\n");
    const first = text.indexOf(" ");
    const last = text.lastIndexOf(" ", lineEnd);
    if (first <= 0 || last <= first + 1 || lineEnd - last !== 9) {
      return this.invalid("malformed request line");
    }
    const method = text.slice(0, first);
    if (!METHODS.has(method)) return this.invalid("unknown method");
    const url = text.slice(first + 1, last);
    if (!TARGET.test(url)) return this.invalid("malformed request target");
    if (
      text.charCodeAt(last + 1) !== 72 ||
      text.slice(last + 1, last + 6) !== "HTTP/" ||
      text.charCodeAt(last + 7) !== 46 /* . */
    ) {
      return this.invalid("malformed HTTP version");
    }
    const major = text.charCodeAt(last + 6) - 48;
    const minor = text.charCodeAt(last + 8) - 48;
    if (major < 0 || major > 9 || minor < 0 || minor > 9) {
      return this.invalid("malformed HTTP version");
    }
    const fieldsAt = lineEnd + 2;
    const fieldText = text.slice(fieldsAt);
    if (fieldText.length > 0 && !FIELD_SECTION.test(fieldText)) {
      return this.invalid("malformed header field");
    }
    let asReceived = true;
    const raw = this.rawHeaders;
    let contentLength = -1;
    let transferEncoding: string | undefined;
    let connection: string | undefined;
    let upgradeField = false;
    let host = false;
    let expect: string | undefined;
    let pos = fieldsAt;
    while (pos < text.length) {
      const next = text.indexOf("\r\n", pos);
      const colon = text.indexOf(":", pos);
      const name = text.slice(pos, colon);
      // The value without the OWS around it (RFC 9110 5.5).
      let from = colon + 1;
      let to = next;
      while (from < to && isOws(text.charCodeAt(from))) from++;
      while (to > from && isOws(text.charCodeAt(to - 1))) to--;
      // Not `name: value` byte for byte (`name:value`, more spaces, a tab, trailing OWS).
      if (from !== colon + 2 || to !== next || text.charCodeAt(colon + 1) !== 32) {
        asReceived = false;
      }
      const value = text.slice(from, to);
      pos = next + 2;
      raw.push(name, value);
      switch (name.length) {
        case 4:
          if (!host && name.toLowerCase() === "host") host = true;
          break;
        case 6:
          // Several Expect fields form one list (RFC 9110 5.3): `foo` in any of them is an
          // expectation the server cannot meet, wherever 100-continue stands.
          if (name.toLowerCase() === "expect") {
            expect = expect === undefined ? value : `${expect}, ${value}`;
          }
          break;
        case 7:
          if (name.toLowerCase() === "upgrade") upgradeField = true;
          break;
        case 10:
          if (name.toLowerCase() === "connection") {
            connection = connection === undefined ? value : `${connection},${value}`;
          }
          break;
        case 14:
          if (name.toLowerCase() === "content-length") {
            if (contentLength >= 0) return this.invalid("duplicate Content-Length");
            if (!DIGITS.test(value)) return this.invalid("malformed Content-Length");
            contentLength = Number(value);
          }
          break;
        case 17:
          if (name.toLowerCase() === "transfer-encoding") {
            transferEncoding =
              transferEncoding === undefined ? value : `${transferEncoding},${value}`;
          }
          break;
      }
    }
    const chunked = transferEncoding !== undefined;
    if (chunked) {
      if (contentLength >= 0) return this.invalid("both Content-Length and Transfer-Encoding");
      if (!ENDS_CHUNKED.test(transferEncoding!)) {
        return this.invalid("Transfer-Encoding does not end in chunked");
      }
    }
    if (!host && major === 1 && minor >= 1) return this.invalid("HTTP/1.1 request without Host");
    let close = false;
    let keepAliveToken = false;
    let upgradeToken = false;
    // Most clients send one option, read without splitting.
    const single = connection?.toLowerCase();
    if (single === "keep-alive") keepAliveToken = true;
    else if (single === "close") close = true;
    else if (connection !== undefined) {
      for (const token of connection.split(",")) {
        const option = token.trim().toLowerCase();
        if (option === "close") close = true;
        else if (option === "keep-alive") keepAliveToken = true;
        else if (option === "upgrade") upgradeToken = true;
      }
    }
    this.method = method;
    this.url = url;
    this.fieldText = asReceived ? fieldText : undefined;
    this.versionMajor = major;
    this.versionMinor = minor;
    this.keepAlive = !close && (minor >= 1 ? major === 1 : keepAliveToken);
    this.upgrade = method === "CONNECT" || (upgradeField && upgradeToken);
    this.expect = expect;
    this.hasBody = chunked || contentLength > 0;
    if (this.upgrade) {
      this.state = State.Upgraded;
      this.sink.onRequestHead();
      return true;
    }
    if (chunked) {
      this.state = State.Chunked;
      this.chunked = new ChunkedDecoder(this.maxHeaderSize);
    } else if (contentLength > 0) {
      this.state = State.Length;
      this.remaining = contentLength;
    } else {
      this.state = State.Done;
    }
    this.sink.onRequestHead();
    if (this.state === State.Done) this.sink.onRequestEnd();
    return true;
  }

  private invalid(reason: string): false {
    this.fail(400, INVALID, reason);
    return false;
  }
}

/** Bytes past which a search in JavaScript loses to Buffer.indexOf (a call into C++). */
const SHORT_SEARCH = 1024;

/** Index of the first CRLF CRLF in `buffer` from `from`, or -1. */
function findBlankLine(buffer: Buffer, from: number): number {
  const end = buffer.length;
  if (end - from > SHORT_SEARCH) return buffer.indexOf(CRLF_CRLF, from);
  let i = from;
  while (i + 3 < end) {
    const last = buffer[i + 3];
    if (last !== 10 && last !== 13) {
      // Every byte of a match is CR or LF: none starts at i .. i + 3.
      i += 4;
    } else if (last === 10 && buffer[i] === 13 && buffer[i + 1] === 10 && buffer[i + 2] === 13) {
      return i;
    } else i++;
  }
  return -1;
}

/** Longest method llhttp knows (UNSUBSCRIBE), with the space after it. */
const METHOD_ROOM = 12;

/**
 * True when the bytes of a head so far can begin with a method: upper-case letters or `-`,
 * then a space within METHOD_ROOM bytes. Looks at those few bytes only, so a slow client's
 * every byte costs no more.
 */
function methodMayFollow(buffer: Buffer, start: number): boolean {
  const end = Math.min(buffer.length, start + METHOD_ROOM);
  for (let i = start; i < end; i++) {
    const byte = buffer[i];
    if (byte === 32) return i > start;
    if ((byte < 65 || byte > 90) && byte !== 45) return false;
  }
  return end - start < METHOD_ROOM;
}

function isOws(code: number): boolean {
  return code === 32 || code === 9;
}
