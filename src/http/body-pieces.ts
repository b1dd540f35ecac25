/**
 * The data pieces of one read of a chunked body, gathered so that they go on as one buffer:
 * a peer sending many tiny chunks (`1\r\nx\r\n` over and over) then costs the other side one
 * write per read, not one write (and one event, one frame) per chunk. Shared by the request
 * body's decoder and the response parser.
 */
export class BodyPieces {
  /** [start, end, start, end, ...] within the read being parsed. */
  private readonly bounds: number[] = [];

  /** True when no piece was gathered since the last take(). */
  get empty(): boolean {
    return this.bounds.length === 0;
  }

  /** Forgets the pieces gathered (the parse stopped). */
  clear(): void {
    this.bounds.length = 0;
  }

  /** Notes `chunk[start, end)` as payload. */
  add(start: number, end: number): void {
    if (end > start) this.bounds.push(start, end);
  }

  /**
   * The pieces gathered from `chunk`, and forgets them: one piece as a view of `chunk` (no
   * copy, the usual case of a large chunk), several copied into one new buffer (each payload
   * byte once); undefined when there are none.
   */
  take(chunk: Buffer): Buffer | undefined {
    const bounds = this.bounds;
    const count = bounds.length;
    if (count === 0) return undefined;
    if (count === 2) {
      const piece = chunk.subarray(bounds[0], bounds[1]);
      bounds.length = 0;
      return piece;
    }
    let total = 0;
    for (let i = 0; i < count; i += 2) total += bounds[i + 1] - bounds[i];
    const joined = Buffer.allocUnsafe(total);
    let to = 0;
    for (let i = 0; i < count; i += 2) to += chunk.copy(joined, to, bounds[i], bounds[i + 1]);
    bounds.length = 0;
    return joined;
  }
}
