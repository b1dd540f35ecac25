/**
 * The chunked transfer coding of a request body (RFC 9112 7.1), byte by byte for the framing
 * and in slices for the data: hex sizes with an overflow bound, chunk extensions of visible
 * characters only (no bare CR or LF, the 2023 smuggling family), CRLF after every chunk's
 * data, and a trailer section that is read, bounded and dropped. The data of one execute()
 * goes on in one slice (body-pieces.ts), whatever the number of chunks it held.
 */
import { BodyPieces } from "../body-pieces.js";

/** Where a byte of a chunk extension is (RFC 9112 7.1.1: `;name[=token|"quoted"]`, with BWS). */
enum Ext {
  BeforeSemicolon,
  BeforeName,
  Name,
  AfterName,
  BeforeValue,
  Value,
  Quoted,
  QuotedEscape,
}

/** RFC 9110 5.6.2 token characters. */
const TCHAR = new Uint8Array(256);
for (const c of "!#$%&'*+-.^_`|~0123456789abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ") {
  TCHAR[c.charCodeAt(0)] = 1;
}

enum State {
  Size,
  Extension,
  SizeLf,
  Data,
  DataCr,
  DataLf,
  TrailerStart,
  TrailerLine,
  TrailerLineLf,
  EndLf,
  Done,
  Error,
}

/** Longest chunk-size line (hex digits and extensions) accepted, as llhttp bounds it. */
const MAX_SIZE_LINE = 1024;
/** Largest chunk size accepted: 2^44 bytes; more hex digits are an overflow attempt. */
const MAX_CHUNK = 0x0fffffffffff;

/** Decodes one chunked body; `data` gets the payload slices without the framing. */
export class ChunkedDecoder {
  private state = State.Size;
  private remaining = 0;
  private lineLength = 0;
  private sawDigit = false;
  private trailerBytes = 0;
  private ext = Ext.BeforeSemicolon;
  /** Length of the current trailer field's name, and whether its colon was seen. */
  private trailerName = 0;
  private trailerColon = false;
  private readonly pieces = new BodyPieces();
  /** Why decoding failed. */
  error = "";

  constructor(private readonly maxTrailerSize: number) {}

  /** True once the last chunk and the trailer section were read. */
  get done(): boolean {
    return this.state === State.Done;
  }

  /**
   * Decodes from `chunk[at]` on, handing the payload to `data` in one slice (a view of
   * `chunk` when it was one piece); returns the index after the body's end (or
   * `chunk.length`), or -1 when the framing is malformed (the payload before it still goes).
   */
  execute(chunk: Buffer, at: number, data: (slice: Buffer) => void): number {
    const end = chunk.length;
    const pieces = this.pieces;
    while (at < end) {
      const state = this.state;
      if (state === State.Data) {
        const take = Math.min(this.remaining, end - at);
        this.remaining -= take;
        pieces.add(at, at + take);
        at += take;
        if (this.remaining === 0) this.state = State.DataCr;
        continue;
      }
      if (state === State.Done) break;
      if (!this.byte(chunk[at])) {
        this.state = State.Error;
        at = -1;
        break;
      }
      at++;
    }
    if (!pieces.empty) data(pieces.take(chunk)!);
    return at;
  }

  private byte(byte: number): boolean {
    switch (this.state) {
      case State.Size: {
        const digit = hexValue(byte);
        if (digit >= 0) {
          if (this.remaining > MAX_CHUNK) return this.fail("chunk size too large");
          this.remaining = this.remaining * 16 + digit;
          this.sawDigit = true;
          return this.countLine();
        }
        if (!this.sawDigit) return this.fail("malformed chunk size");
        if (byte === 13) {
          this.state = State.SizeLf;
          return true;
        }
        if (byte === 59 /* ; */ || byte === 32 || byte === 9) {
          this.state = State.Extension;
          this.ext = byte === 59 ? Ext.BeforeName : Ext.BeforeSemicolon;
          return this.countLine();
        }
        return this.fail("malformed chunk size");
      }
      case State.Extension:
        if (byte === 13 && this.ext !== Ext.Quoted && this.ext !== Ext.QuotedEscape) {
          if (this.ext === Ext.BeforeName || this.ext === Ext.BeforeValue) {
            return this.fail("malformed chunk extension");
          }
          this.state = State.SizeLf;
          return true;
        }
        if (!this.extensionByte(byte)) return this.fail("malformed chunk extension");
        return this.countLine();
      case State.SizeLf:
        if (byte !== 10) return this.fail("malformed chunk size line");
        this.lineLength = 0;
        this.sawDigit = false;
        this.state = this.remaining === 0 ? State.TrailerStart : State.Data;
        return true;
      case State.DataCr:
        if (byte !== 13) return this.fail("chunk data longer than its size");
        this.state = State.DataLf;
        return true;
      case State.DataLf:
        if (byte !== 10) return this.fail("chunk data longer than its size");
        this.state = State.Size;
        return true;
      case State.TrailerStart:
        if (byte === 13) {
          this.state = State.EndLf;
          return true;
        }
        this.state = State.TrailerLine;
        return this.trailerByte(byte);
      case State.TrailerLine:
        if (byte === 13) {
          if (!this.trailerColon) return this.fail("malformed trailer line");
          this.state = State.TrailerLineLf;
          this.trailerName = 0;
          this.trailerColon = false;
          return true;
        }
        return this.trailerByte(byte);
      case State.TrailerLineLf:
        if (byte !== 10) return this.fail("malformed trailer line");
        this.state = State.TrailerStart;
        return true;
      case State.EndLf:
        if (byte !== 10) return this.fail("malformed end of chunked body");
        this.state = State.Done;
        return true;
      default:
        return this.fail("chunked body after its end");
    }
  }

  /** One byte of a chunk extension after the size; false when it breaks the grammar. */
  private extensionByte(byte: number): boolean {
    const space = byte === 32 || byte === 9;
    switch (this.ext) {
      case Ext.BeforeSemicolon:
        if (byte === 59) this.ext = Ext.BeforeName;
        return space || byte === 59;
      case Ext.BeforeName:
        if (TCHAR[byte] === 1) this.ext = Ext.Name;
        return space || TCHAR[byte] === 1;
      case Ext.Name:
      case Ext.AfterName:
        if (TCHAR[byte] === 1 && this.ext === Ext.Name) return true;
        if (space) this.ext = Ext.AfterName;
        else if (byte === 61 /* = */) this.ext = Ext.BeforeValue;
        else if (byte === 59) this.ext = Ext.BeforeName;
        else return false;
        return true;
      case Ext.BeforeValue:
        if (space) return true;
        if (byte === 34 /* " */) this.ext = Ext.Quoted;
        else if (TCHAR[byte] === 1) this.ext = Ext.Value;
        else return false;
        return true;
      case Ext.Value:
        if (TCHAR[byte] === 1) return true;
        if (space) this.ext = Ext.BeforeSemicolon;
        else if (byte === 59) this.ext = Ext.BeforeName;
        else return false;
        return true;
      case Ext.Quoted:
        if (byte === 34) this.ext = Ext.BeforeSemicolon;
        else if (byte === 92 /* \ */) this.ext = Ext.QuotedEscape;
        else if (!isText(byte)) return false;
        return true;
      default:
        this.ext = Ext.Quoted;
        return isText(byte);
    }
  }

  private trailerByte(byte: number): boolean {
    // Trailer fields are not passed on (the upstream request is framed anew), but they are
    // held to the rules of a field line as llhttp holds them.
    if (!this.trailerColon) {
      if (TCHAR[byte] === 1) this.trailerName++;
      else if (byte === 58 /* : */ && this.trailerName > 0) this.trailerColon = true;
      else return this.fail("malformed trailer field name");
    } else if (!isText(byte)) {
      return this.fail("malformed trailer line");
    }
    if (++this.trailerBytes > this.maxTrailerSize) return this.fail("trailers too large");
    return true;
  }

  private countLine(): boolean {
    if (++this.lineLength > MAX_SIZE_LINE) return this.fail("chunk size line too long");
    return true;
  }

  private fail(reason: string): false {
    this.error = reason;
    return false;
  }
}

/** A byte a field value or quoted string may hold: HTAB, SP, VCHAR, obs-text. */
function isText(byte: number): boolean {
  return byte === 9 || (byte >= 32 && byte !== 127);
}

function hexValue(byte: number): number {
  if (byte >= 48 && byte <= 57) return byte - 48;
  if (byte >= 97 && byte <= 102) return byte - 87;
  if (byte >= 65 && byte <= 70) return byte - 55;
  return -1;
}
