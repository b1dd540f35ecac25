/**
 * A small strict HTTP/1.1 response parser for the upstream side: the status line and
 * fields of the head, then the body framed by Content-Length, chunked coding (chunk
 * boundaries tracked to know where the response ends; the data is passed on without the
 * chunk framing; the data of one read goes on in one piece, however many chunks it held) or
 * the closing of the connection. 1xx heads are skipped; HEAD answers,
 * 204 and 304 have no body. Anything malformed is an error: the caller answers 502.
 */
import { BodyPieces } from "../body-pieces.js";
import { dropConnectionOptions } from "../forward-headers.js";
import { HeadBytes } from "../head-bytes.js";

/** Where a parsed response goes. */
export interface ResponseSink {
  /**
   * A final (>= 200) head, without hop-by-hop fields; false when the sink stopped the parse.
   * `fields` is the same fields as the backend's lines (see ResponseFields) when each was
   * `name: value`, else undefined.
   */
  onResponseHead(
    status: number,
    reason: string,
    headers: string[],
    fields: ResponseFields | undefined,
  ): boolean;
  /**
   * Body bytes (a view of the socket's chunk, chunk framing removed); `last` when they
   * complete a Content-Length body, so the client side can end with them in one call.
   */
  onResponseData(chunk: Buffer, last: boolean): void;
  /** The response is complete. */
  onResponseEnd(): void;
}

/** The kept fields of a response head as the backend's own lines, to pass on as they are. */
export interface ResponseFields {
  /** `name: value\r\n` lines, hop-by-hop ones cut out. */
  text: string;
  /** A Content-Length line is among them. */
  hasLength: boolean;
  /** A Date line is among them. */
  hasDate: boolean;
}

enum State {
  Head,
  Length,
  ChunkSize,
  ChunkExtension,
  ChunkSizeLf,
  ChunkData,
  ChunkDataCr,
  ChunkDataLf,
  TrailerStart,
  TrailerLine,
  TrailerLineLf,
  TrailerEndLf,
  UntilClose,
  Done,
  /** The sink gave up on this response: the rest is ignored. */
  Stopped,
  Error,
}

/**
 * A whole field section, checked with one match instead of two per field: each line is a
 * token (RFC 9110 5.6.2), a colon with no whitespace before it, and a value of visible
 * characters, spaces, tabs and obs-text, ending in CRLF (so no obs-fold, no bare CR or LF).
 */
const FIELD_SECTION = /^(?:[!#$%&'*+\-.^_`|~0-9A-Za-z]+:[\t\x20-\x7e\x80-\xff]*\r\n)*$/;
const CLOSE_TOKEN = /(?:^|,)\s*close\s*(?:,|$)/;
const KEEP_ALIVE_TOKEN = /(?:^|,)\s*keep-alive\s*(?:,|$)/;
/** Characters a field value or reason phrase may not hold (CTLs other than HTAB). */
// biome-ignore lint/suspicious/noControlCharactersInRegex: finding control characters is its job.
const INVALID_TEXT = /[\x00-\x08\x0a-\x1f\x7f]/;
const DIGITS = /^[0-9]{1,15}$/;
const KEEP_ALIVE_TIMEOUT = /(?:^|[,;\s])timeout\s*=\s*(\d+)/i;
/** Longest chunk-size line (hex digits and extensions) accepted. */
const MAX_CHUNK_LINE = 1024;
const CRLF_CRLF = Buffer.from("\r\n\r\n");

/** Parses one response at a time off an upstream connection. */
export class ResponseParser {
  private state = State.Done;
  private noBody = false;
  /** Bytes of the head seen so far when it spans several chunks. */
  private readonly pending: HeadBytes;
  /** Bytes left of a Content-Length body or of the current chunk. */
  private remaining = 0;
  private lineLength = 0;
  private sawDigit = false;
  /** The chunk data of the current execute(), handed on at its end (body-pieces.ts). */
  private readonly pieces = new BodyPieces();
  /** Why the last execute() failed. */
  error = "";
  /** The connection may carry another request after this response. */
  keepAlive = false;
  /** The backend's Keep-Alive timeout hint in ms, 0 when none. */
  keepAliveHintMs = 0;

  constructor(
    private readonly sink: ResponseSink,
    private readonly maxHeaderSize: number,
  ) {
    // Room for the largest head allowed plus its blank line, so a full store means too large.
    this.pending = new HeadBytes(maxHeaderSize + 4);
  }

  /** Prepares for the response to the next request (`head`: a HEAD request, no body). */
  reset(head: boolean): void {
    this.state = State.Head;
    this.noBody = head;
    this.pending.clear();
    this.pieces.clear();
    this.error = "";
    this.keepAlive = false;
    this.keepAliveHintMs = 0;
  }

  /** True once the whole response was parsed. */
  get done(): boolean {
    return this.state === State.Done;
  }

  /** True while the body runs until the connection closes. */
  get untilClose(): boolean {
    return this.state === State.UntilClose;
  }

  /** Stops the parse: bytes after this are ignored (the sink gave up on the response). */
  stop(): void {
    this.state = State.Stopped;
    this.pending.clear();
  }

  /** Feeds bytes from the socket; false when they are malformed (`error` says why). */
  execute(chunk: Buffer): boolean {
    let at = 0;
    const end = chunk.length;
    while (at < end) {
      switch (this.state) {
        case State.Head: {
          const next = this.head(chunk, at);
          if (next < 0) return (this.state as State) !== State.Error;
          at = next;
          break;
        }
        case State.Length: {
          const take = Math.min(this.remaining, end - at);
          this.remaining -= take;
          const data = chunk.subarray(at, at + take);
          at += take;
          this.sink.onResponseData(data, this.remaining === 0);
          if (this.state !== State.Length) return true;
          if (this.remaining === 0) {
            this.state = State.Done;
            this.finish();
          }
          break;
        }
        case State.ChunkData: {
          // Gathered, not handed on: tiny chunks must not cost a client write each.
          const take = Math.min(this.remaining, end - at);
          this.remaining -= take;
          this.pieces.add(at, at + take);
          at += take;
          if (this.remaining === 0) this.state = State.ChunkDataCr;
          break;
        }
        case State.UntilClose:
          this.sink.onResponseData(at === 0 ? chunk : chunk.subarray(at), false);
          return true;
        case State.Done:
          // Bytes after the response on a one-request-at-a-time connection: not reusable.
          if (this.keepAlive) this.keepAlive = false;
          return true;
        case State.Stopped:
          this.pieces.clear();
          return true;
        case State.Error:
          return false;
        default:
          if (!this.chunkByte(chunk[at])) {
            // The data before the bad byte still goes, as it would have in its own read.
            return this.handOn(chunk) ? this.fail(this.error) : true;
          }
          at++;
          if ((this.state as State) === State.Done && this.handOn(chunk)) this.finish();
      }
    }
    this.handOn(chunk);
    return true;
  }

  /** Hands the gathered chunk data on; false when the sink stopped the parse. */
  private handOn(chunk: Buffer): boolean {
    const data = this.pieces.take(chunk);
    if (data === undefined) return true;
    this.sink.onResponseData(data, false);
    return (this.state as State) !== State.Stopped;
  }

  /**
   * The connection reached its end (the backend closed): a close-delimited body ends here;
   * true when the response was complete.
   */
  endOfInput(): boolean {
    if (this.state === State.UntilClose) {
      this.state = State.Done;
      this.finish();
      return true;
    }
    return this.state === State.Done;
  }

  /** Tells the sink; it must not start the next request before execute() returned. */
  private finish(): void {
    this.sink.onResponseEnd();
  }

  private fail(reason: string): false {
    this.state = State.Error;
    this.error = reason;
    this.pending.clear();
    return false;
  }

  /** Parses a head starting at `at`; the index after it, or -1 (need more bytes, or error). */
  private head(chunk: Buffer, at: number): number {
    let buffer = chunk;
    let start = at;
    let searchFrom = at;
    /** chunk index = buffer index + shift. */
    let shift = 0;
    const held = this.pending.length;
    if (held > 0) {
      // The head so far (head-bytes.ts: one copy per byte of a slow backend's head).
      buffer = this.pending.append(chunk, at);
      start = 0;
      searchFrom = Math.max(0, held - 3);
      shift = at - held;
    }
    const blank = buffer.indexOf(CRLF_CRLF, searchFrom);
    if (blank < 0 || blank - start > this.maxHeaderSize) {
      if (buffer.length - start > this.maxHeaderSize) {
        this.fail("response head too large");
        return -1;
      }
      this.pending.keep(buffer, start);
      return -1;
    }
    this.pending.clear();
    if (!this.parseHead(buffer.toString("latin1", start, blank + 2))) return -1;
    return blank + 4 + shift;
  }

  /** Parses the text of a head (status line and fields, each ending in CRLF). */
  private parseHead(text: string): boolean {
    const lineEnd = text.indexOf("\r\n");
    const statusLine = text.slice(0, lineEnd);
    if (
      statusLine.length < 12 ||
      !statusLine.startsWith("HTTP/1.") ||
      (statusLine.charCodeAt(7) !== 49 && statusLine.charCodeAt(7) !== 48) ||
      statusLine.charCodeAt(8) !== 32 ||
      (statusLine.length > 12 && statusLine.charCodeAt(12) !== 32)
    ) {
      return this.fail("malformed status line");
    }
    const http11 = statusLine.charCodeAt(7) === 49;
    const status = Number(statusLine.slice(9, 12));
    if (!(status >= 100 && status <= 999) || !DIGITS.test(statusLine.slice(9, 12))) {
      return this.fail("malformed status code");
    }
    const reason = statusLine.length > 13 ? statusLine.slice(13) : "";
    if (INVALID_TEXT.test(reason)) return this.fail("malformed reason phrase");

    const headers: string[] = [];
    let contentLength = -1;
    let chunked = false;
    let connection: string | undefined;
    let hint = 0;
    let pos = lineEnd + 2;
    const fieldsAt = pos;
    if (pos < text.length && !FIELD_SECTION.test(text.slice(pos))) {
      return this.fail("malformed header field");
    }
    // The kept lines as received, in runs (as forward-headers.ts does for requests), while
    // every line is `name: value` byte for byte.
    let asReceived = true;
    let kept = "";
    let runStart = pos;
    let hasDate = false;
    /** Start of the previous line and the field count before it (was it kept?). */
    let previous = -1;
    let countBefore = 0;
    while (pos < text.length) {
      if (previous >= 0 && headers.length === countBefore) {
        kept += text.slice(runStart, previous); // the previous line was dropped
        runStart = pos;
      }
      previous = pos;
      countBefore = headers.length;
      const next = text.indexOf("\r\n", pos);
      const colon = text.indexOf(":", pos);
      const name = text.slice(pos, colon);
      const value = trimOws(text.slice(colon + 1, next));
      pos = next + 2;
      // Not `name: value` byte for byte: the fields are joined from the list instead.
      if (value.length !== next - colon - 2 || text.charCodeAt(colon + 1) !== 32) {
        asReceived = false;
      }
      if (name.length === 4 && name.toLowerCase() === "date") hasDate = true;
      switch (
        name.length === 10 || name.length === 14 || name.length === 17 ? name.toLowerCase() : ""
      ) {
        case "content-length": {
          if (!DIGITS.test(value)) return this.fail("malformed content-length");
          const length = Number(value);
          if (contentLength >= 0) {
            if (length !== contentLength) return this.fail("conflicting content-length");
            continue;
          }
          contentLength = length;
          // RFC 9110 8.6: never on a 204; a client that believed it would read the next
          // response as this one's body.
          if (status === 204) continue;
          break;
        }
        case "transfer-encoding":
          // Only chunked is understood: with another coding (gzip, chunked) the client
          // would get the coded bytes with nothing saying how they were coded.
          if (chunked || !/^[ \t]*chunked[ \t]*$/i.test(value)) {
            return this.fail(`unsupported transfer coding "${value}"`);
          }
          chunked = true;
          continue;
        case "connection":
          connection = connection === undefined ? value : `${connection},${value}`;
          continue;
        case "keep-alive": {
          const match = KEEP_ALIVE_TIMEOUT.exec(value);
          if (match !== null) hint = Number(match[1]) * 1000;
          continue;
        }
        default:
          if (isHopByHop(name)) continue;
      }
      headers.push(name, value);
    }
    if (previous >= 0 && headers.length === countBefore) {
      kept += text.slice(runStart, previous);
      runStart = pos;
    }
    if (status < 200) {
      if (status === 101) return this.fail("unexpected 101 switching protocols");
      // An interim answer (100 Continue, 103 Early Hints): the final one follows.
      return true;
    }
    if (chunked && contentLength >= 0) {
      return this.fail("both transfer-encoding and content-length");
    }
    // RFC 9112 6.1: Transfer-Encoding in an HTTP/1.0 message is faulty framing (a 1.0
    // recipient on the way may read the body to the close, or as the next response).
    if (chunked && !http11) return this.fail("transfer-encoding in an HTTP/1.0 response");
    let keepAlive = http11;
    if (connection !== undefined) {
      const tokens = connection.toLowerCase();
      // Most backends say only "keep-alive" or "close", which name no field to drop.
      if (tokens === "keep-alive") keepAlive = true;
      else if (tokens === "close") keepAlive = false;
      else {
        if (CLOSE_TOKEN.test(tokens)) keepAlive = false;
        else if (!http11 && KEEP_ALIVE_TOKEN.test(tokens)) keepAlive = true;
        const count = headers.length;
        dropConnectionOptions(headers, connection, -1);
        if (headers.length !== count) asReceived = false;
      }
    }
    this.keepAliveHintMs = hint;
    if (this.noBody || status === 204 || status === 304) {
      this.state = State.Done;
    } else if (chunked) {
      this.state = State.ChunkSize;
      this.remaining = 0;
      this.lineLength = 0;
      this.sawDigit = false;
    } else if (contentLength >= 0) {
      this.state = contentLength === 0 ? State.Done : State.Length;
      this.remaining = contentLength;
    } else {
      this.state = State.UntilClose;
      keepAlive = false;
    }
    this.keepAlive = keepAlive;
    let fields: ResponseFields | undefined;
    if (asReceived) {
      kept = runStart === fieldsAt ? text.slice(fieldsAt) : kept + text.slice(runStart);
      fields = { text: kept, hasLength: contentLength >= 0, hasDate };
    }
    if (!this.sink.onResponseHead(status, reason, headers, fields)) {
      this.stop();
      return false;
    }
    if (this.state === State.Done) this.finish();
    return true;
  }

  /** One byte of chunk framing (size line, CRLF after data, trailer section). */
  private chunkByte(byte: number): boolean {
    switch (this.state) {
      case State.ChunkSize: {
        const digit = hexValue(byte);
        if (digit >= 0) {
          if (this.remaining > 0x0fffffffffff) return this.chunkError("chunk size too large");
          this.remaining = this.remaining * 16 + digit;
          this.sawDigit = true;
          return this.countLine();
        }
        if (!this.sawDigit) return this.chunkError("malformed chunk size");
        if (byte === 13) {
          this.state = State.ChunkSizeLf;
          return true;
        }
        if (byte === 59 /* ; */ || byte === 32 || byte === 9) {
          this.state = State.ChunkExtension;
          return this.countLine();
        }
        return this.chunkError("malformed chunk size");
      }
      case State.ChunkExtension:
        if (byte === 13) {
          this.state = State.ChunkSizeLf;
          return true;
        }
        if (byte === 10 || (byte < 32 && byte !== 9) || byte === 127) {
          return this.chunkError("malformed chunk extension");
        }
        return this.countLine();
      case State.ChunkSizeLf:
        if (byte !== 10) return this.chunkError("malformed chunk size line");
        this.lineLength = 0;
        this.sawDigit = false;
        this.state = this.remaining === 0 ? State.TrailerStart : State.ChunkData;
        return true;
      case State.ChunkDataCr:
        if (byte !== 13) return this.chunkError("chunk data longer than its size");
        this.state = State.ChunkDataLf;
        return true;
      case State.ChunkDataLf:
        if (byte !== 10) return this.chunkError("chunk data longer than its size");
        this.state = State.ChunkSize;
        return true;
      case State.TrailerStart:
        if (byte === 13) {
          this.state = State.TrailerEndLf;
          return true;
        }
        this.state = State.TrailerLine;
        return this.trailerByte(byte);
      case State.TrailerLine:
        if (byte === 13) {
          this.state = State.TrailerLineLf;
          return true;
        }
        return this.trailerByte(byte);
      case State.TrailerLineLf:
        if (byte !== 10) return this.chunkError("malformed trailer line");
        this.state = State.TrailerStart;
        return true;
      case State.TrailerEndLf:
        if (byte !== 10) return this.chunkError("malformed end of chunked body");
        this.state = State.Done;
        return true;
      default:
        return this.chunkError("parser state");
    }
  }

  private trailerByte(byte: number): boolean {
    // Trailer fields are not passed on (the client side writes its own framing).
    if (byte === 10 || (byte < 32 && byte !== 9) || byte === 127) {
      return this.chunkError("malformed trailer line");
    }
    if (++this.lineLength > this.maxHeaderSize) return this.chunkError("trailers too large");
    return true;
  }

  private countLine(): boolean {
    if (++this.lineLength > MAX_CHUNK_LINE) return this.chunkError("chunk size line too long");
    return true;
  }

  private chunkError(reason: string): false {
    this.error = reason;
    return false;
  }
}

function hexValue(byte: number): number {
  if (byte >= 48 && byte <= 57) return byte - 48;
  if (byte >= 97 && byte <= 102) return byte - 87;
  if (byte >= 65 && byte <= 70) return byte - 55;
  return -1;
}

/** Hop-by-hop response fields not handled above (RFC 9110 7.6.1). */
function isHopByHop(name: string): boolean {
  switch (name.length) {
    case 2:
      return name.toLowerCase() === "te";
    case 7:
      return name.toLowerCase() === "trailer" || name.toLowerCase() === "upgrade";
    case 16:
      return name.toLowerCase() === "proxy-connection";
    default:
      return false;
  }
}

/** Strips spaces and tabs around a field value (RFC 9110 5.5). */
function trimOws(value: string): string {
  let start = 0;
  let end = value.length;
  while (start < end && isOws(value.charCodeAt(start))) start++;
  while (end > start && isOws(value.charCodeAt(end - 1))) end--;
  return start === 0 && end === value.length ? value : value.slice(start, end);
}

function isOws(code: number): boolean {
  return code === 32 || code === 9;
}
