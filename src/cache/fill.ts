/**
 * One response on its way into the cache: it streams to the client that asked while its
 * body is copied aside, and the requests that missed the same key meanwhile wait for it
 * (request coalescing, nginx's proxy_cache_lock). A body over the size cap stops being
 * stored, never stops streaming. A body that belongs on disk (known large from
 * Content-Length, or grown past the disk store's threshold) goes to a temp file instead of
 * memory, and is renamed into the disk store when complete.
 *
 * A body in memory is kept as its first piece and then blocks of BLOCK bytes that the
 * following pieces are copied into: a backend sending its body a byte per read costs a byte
 * of memory per byte, not a Buffer object (about a hundred bytes) per byte that the memory
 * bound, which counts body bytes, would not see.
 */
import type { CachedResponse } from "./cached-response.js";
import type { DiskWriter } from "./disk-writer.js";
import {
  type CacheRequest,
  completeResponse,
  refreshedResponse,
  type StorableHead,
} from "./response-rules.js";

/**
 * What a waiting request does when the fill is over. `stored`: look up again (a hit).
 * `pass`: the response was not stored; go to the backend without the cache.
 * `stale`: the backend failed; serve the stale response if allowed, else go to the backend.
 */
export type FillOutcome = "stored" | "pass" | "stale";

/** Where a fill puts what it stored; the zone. */
export interface FillSink {
  store(key: string, entry: CachedResponse): void;
  fillDone(fill: CacheFill): void;
  /** Bytes a body may grow to in memory (the memory store's bound). */
  readonly memoryLimit: number;
  /** True when a body of this length belongs on disk. */
  wantsDisk(length: number): boolean;
  /** A writer into the disk store; undefined when it cannot take a file now. */
  startDiskWrite(key: string): DiskWriter | undefined;
  /** Stores a body written to disk; resolves false when it could not be placed. */
  storeFromDisk(key: string, head: StorableHead, writer: DiskWriter): Promise<boolean>;
}

/** Bytes of the blocks that the pieces of a body after its first are copied into. */
const BLOCK = 16 * 1024;

/** One response being stored under one key. */
export class CacheFill {
  private head: StorableHead | undefined;
  /** The body so far: the first piece, then full blocks; `block` holds the bytes after. */
  private chunks: Buffer[] = [];
  private block: Buffer | undefined;
  private blockUsed = 0;
  private length = 0;
  /** Set when the body goes to a file. */
  private disk: DiskWriter | undefined;
  /** A file was asked for once: a disk that refused is not asked again for every chunk. */
  private diskTried = false;
  /** The file is being placed: the fill is over for the exchange, not yet for the waiters. */
  private committing = false;
  private settled = false;
  private readonly waiters: ((outcome: FillOutcome) => void)[] = [];

  constructor(
    private readonly sink: FillSink,
    readonly key: string,
    readonly request: CacheRequest,
    /** The stale response being revalidated, if any. */
    readonly stale: CachedResponse | undefined,
    private readonly maxBody: number,
  ) {}

  /** True while body chunks are being kept. */
  get storing(): boolean {
    return this.head !== undefined && !this.settled;
  }

  /** Requests waiting for this fill. */
  get waiting(): number {
    return this.waiters.length;
  }

  /** The response head arrived and may be stored: keep its body from now on. */
  accept(head: StorableHead): void {
    if (this.settled) return;
    if (head.contentLength > this.maxBody) {
      this.abandon("pass");
      return;
    }
    this.head = head;
    if (head.contentLength >= 0 && this.sink.wantsDisk(head.contentLength)) this.toDisk();
  }

  /** A body chunk; it is copied (the chunk's memory belongs to the socket's read buffer). */
  write(chunk: Buffer): void {
    if (this.head === undefined || this.settled || this.committing) return;
    if (this.length + chunk.length > this.maxBody) {
      this.abandon("pass");
      return;
    }
    this.length += chunk.length;
    if (this.disk !== undefined) {
      if (!this.disk.write(chunk)) this.abandon("pass");
      return;
    }
    this.keep(chunk);
    if (this.sink.wantsDisk(this.length)) this.toDisk();
    else if (this.length > this.sink.memoryLimit) this.abandon("pass");
  }

  /** The body is complete: store it and wake the waiters. */
  commit(): void {
    const head = this.head;
    // A body shorter or longer than its Content-Length said is not the response.
    const short =
      head !== undefined && head.contentLength >= 0 && head.contentLength !== this.length;
    if (head === undefined || this.settled || this.committing || short) {
      this.abandon("pass");
      return;
    }
    const disk = this.disk;
    if (disk !== undefined) {
      this.committing = true;
      this.sink.storeFromDisk(this.key, head, disk).then(
        (stored) => this.settle(stored ? "stored" : "pass"),
        () => this.settle("pass"),
      );
      return;
    }
    const chunks = this.held();
    const body = chunks.length === 1 ? chunks[0] : Buffer.concat(chunks, this.length);
    this.sink.store(this.key, completeResponse(head, body));
    this.settle("stored");
  }

  /** The backend said 304: the stale response is fresh again. Returns it, updated. */
  refresh(notModifiedHeaders: readonly string[]): CachedResponse | undefined {
    const stale = this.stale;
    if (stale === undefined || this.settled) return undefined;
    const fresh = refreshedResponse(stale, this.request, notModifiedHeaders);
    this.sink.store(this.key, fresh);
    this.settle("stored");
    return fresh;
  }

  /** Nothing (more) is stored; the waiters are told what to do instead. */
  abandon(outcome: "pass" | "stale"): void {
    // A complete file being placed is no longer the exchange's to give up.
    if (this.committing) return;
    this.head = undefined;
    this.held();
    this.disk?.discard();
    this.disk = undefined;
    this.settle(outcome);
  }

  /** From now on the body goes to a file; what memory held so far is written first. */
  private toDisk(): void {
    if (this.diskTried) return;
    this.diskTried = true;
    const writer = this.sink.startDiskWrite(this.key);
    if (writer === undefined) return;
    this.disk = writer;
    for (const chunk of this.held()) writer.write(chunk);
  }

  /**
   * Copies a piece of the body (its memory belongs to the socket's read buffer): the first
   * as it is (a body in one read stays one Buffer), later ones into blocks.
   */
  private keep(chunk: Buffer): void {
    if (this.chunks.length === 0) {
      this.chunks.push(Buffer.from(chunk));
      return;
    }
    let at = 0;
    while (at < chunk.length) {
      if (this.block === undefined) {
        this.block = Buffer.allocUnsafe(BLOCK);
        this.blockUsed = 0;
      }
      const copied = chunk.copy(this.block, this.blockUsed, at);
      at += copied;
      this.blockUsed += copied;
      if (this.blockUsed === BLOCK) {
        this.chunks.push(this.block);
        this.block = undefined;
      }
    }
  }

  /** The pieces of the body kept so far, in order; they are no longer the fill's. */
  private held(): Buffer[] {
    const chunks = this.chunks;
    if (this.block !== undefined && this.blockUsed > 0) {
      chunks.push(this.block.subarray(0, this.blockUsed));
    }
    this.chunks = [];
    this.block = undefined;
    this.blockUsed = 0;
    return chunks;
  }

  /** Waits for the outcome; returns a function that stops waiting (the client left). */
  wait(waiter: (outcome: FillOutcome) => void): () => void {
    this.waiters.push(waiter);
    return () => {
      const index = this.waiters.indexOf(waiter);
      if (index >= 0) this.waiters.splice(index, 1);
    };
  }

  private settle(outcome: FillOutcome): void {
    if (this.settled) return;
    this.settled = true;
    this.sink.fillDone(this);
    const waiters = this.waiters.splice(0);
    for (const waiter of waiters) waiter(outcome);
  }
}
