/**
 * The bytes of a message head received so far, when it spans several reads, shared by the
 * request parser (heads from clients), the response parser and the upgrade's answer (heads
 * from backends). They sit in one buffer of fixed room (the largest head allowed plus its
 * blank line), so a peer that sends its head a byte at a time costs one copy per byte, not a
 * copy of everything held per byte as joining the reads again would (quadratic), and a full
 * store means the head is too large.
 */
export class HeadBytes {
  private store: Buffer | undefined;
  /** Bytes held (0: none, the head starts in the next chunk). */
  length = 0;

  /** `room`: the most bytes ever held. */
  constructor(private readonly room: number) {}

  /**
   * Appends `chunk[at..]`, as much as the room takes, to the bytes held (there must be some);
   * returns all of them, a view of the store, valid until the next call.
   */
  append(chunk: Buffer, at: number): Buffer {
    const held = this.length;
    const store = this.store!;
    const take = Math.min(store.length - held, chunk.length - at);
    chunk.copy(store, held, at, at + take);
    this.length = held + take;
    return store.subarray(0, held + take);
  }

  /**
   * Keeps `buffer[start..]` for the next bytes: `buffer` is the caller's chunk (copied: it
   * may be a read buffer that the next read overwrites) or what append() returned.
   */
  keep(buffer: Buffer, start: number): void {
    const length = buffer.length - start;
    if (length === 0) {
      this.clear();
      return;
    }
    let store = this.store;
    if (store === undefined) {
      store = Buffer.allocUnsafe(this.room);
      this.store = store;
    }
    // Bytes already at the start of the store stay where they are.
    if (buffer.buffer !== store.buffer || buffer.byteOffset !== store.byteOffset || start > 0) {
      buffer.copy(store, 0, start, start + Math.min(length, this.room));
    }
    this.length = Math.min(length, this.room);
  }

  /** Forgets the bytes held (the head was complete, or refused). */
  clear(): void {
    this.store = undefined;
    this.length = 0;
  }
}
