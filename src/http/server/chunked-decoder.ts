/**
 * The chunked transfer coding of a request body (RFC 9112 7.1), byte by byte for the framing
 * and in slices for the data: hex sizes with an overflow bound, chunk extensions of visible
 * characters only (no bare CR or LF, the 2023 smuggling family), CRLF after every chunk's
 * data, and a trailer section that is read, bounded and dropped.
 */

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
  /** Why decoding failed. */
  error = "";

  constructor(private readonly maxTrailerSize: number) {}

  /** True once the last chunk and the trailer section were read. */
  get done(): boolean {
    return this.state === State.Done;
  }

  /**
   * Decodes from `chunk[at]` on, handing payload slices to `data`; returns the index after
   * the body's end (or `chunk.length`), or -1 when the framing is malformed.
   */
  execute(chunk: Buffer, at: number, data: (slice: Buffer) => void): number {
    const end = chunk.length;
    while (at < end) {
      const state = this.state;
      if (state === State.Data) {
        const take = Math.min(this.remaining, end - at);
        this.remaining -= take;
        data(chunk.subarray(at, at + take));
        at += take;
        if (this.remaining === 0) this.state = State.DataCr;
        continue;
      }
      if (state === State.Done) return at;
      if (!this.byte(chunk[at])) {
        this.state = State.Error;
        return -1;
      }
      at++;
    }
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
          return this.countLine();
        }
        return this.fail("malformed chunk size");
      }
      case State.Extension:
        if (byte === 13) {
          this.state = State.SizeLf;
          return true;
        }
        if (byte === 10 || (byte < 32 && byte !== 9) || byte === 127) {
          return this.fail("malformed chunk extension");
        }
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
          this.state = State.TrailerLineLf;
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

  private trailerByte(byte: number): boolean {
    // Trailer fields are not passed on: the upstream request is framed anew.
    if (byte === 10 || (byte < 32 && byte !== 9) || byte === 127) {
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

function hexValue(byte: number): number {
  if (byte >= 48 && byte <= 57) return byte - 48;
  if (byte >= 97 && byte <= 102) return byte - 87;
  if (byte >= 65 && byte <= 70) return byte - 55;
  return -1;
}
