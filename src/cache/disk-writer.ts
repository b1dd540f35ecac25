/**
 * Writes one body into a temp file of the disk store while it streams to the client. Writes
 * are asynchronous positional writes of a copy of each chunk; when the disk falls behind by
 * more than MAX_PENDING bytes, the next chunk is written synchronously instead, which holds
 * the event loop (and so the backend's socket) until the disk caught up: memory stays
 * bounded whatever the relative speeds of network and disk.
 */
import { createHash, type Hash } from "node:crypto";
import { close, openSync, unlink, write, writeSync } from "node:fs";
import { type DiskHead, encodeTail } from "./disk-file.js";

/** Bytes of copied chunks waiting for the disk, at most. */
const MAX_PENDING = 8 * 1024 * 1024;

/** One file being written. */
export class DiskWriter {
  private fd: number;
  private position = 0;
  private pendingBytes = 0;
  private inFlight = 0;
  private error: Error | undefined;
  private readonly hash: Hash = createHash("sha256");
  private onIdle: (() => void) | undefined;
  private closed = false;

  /** Creates the temp file (a synchronous open, as nginx's: once per stored response). */
  constructor(
    readonly tempPath: string,
    readonly finalPath: string,
  ) {
    this.fd = openSync(tempPath, "wx", 0o600);
  }

  /** Body bytes written so far. */
  get length(): number {
    return this.position;
  }

  /** Appends a chunk; false once a write failed (the fill then stops storing). */
  write(chunk: Buffer): boolean {
    if (this.error !== undefined || this.closed) return false;
    this.hash.update(chunk);
    const position = this.position;
    this.position += chunk.length;
    if (this.pendingBytes + chunk.length > MAX_PENDING) {
      try {
        writeSync(this.fd, chunk, 0, chunk.length, position);
      } catch (error) {
        this.error = error as Error;
        return false;
      }
      return true;
    }
    // The chunk's memory belongs to the socket's read buffer: the async write gets a copy.
    const copy = Buffer.from(chunk);
    this.pendingBytes += copy.length;
    this.inFlight++;
    write(this.fd, copy, 0, copy.length, position, (error) => {
      this.pendingBytes -= copy.length;
      this.inFlight--;
      if (error !== null && this.error === undefined) this.error = error;
      if (this.inFlight === 0) this.onIdle?.();
    });
    return true;
  }

  /**
   * Writes the head after the body and closes the file; resolves with the file's size.
   * `headOf` builds the head from the body's SHA-256 (hex).
   */
  async finish(headOf: (bodySha256: string) => DiskHead): Promise<number> {
    await this.idle();
    if (this.error !== undefined) throw this.error;
    const tail = encodeTail(headOf(this.hash.digest("hex")));
    await new Promise<void>((resolve, reject) =>
      write(this.fd, tail, 0, tail.length, this.position, (error) =>
        error === null ? resolve() : reject(error),
      ),
    );
    const size = this.position + tail.length;
    await this.closeFile();
    return size;
  }

  /** Gives the file up: closed (after writes in flight, so the fd is not reused under them) and removed. */
  discard(): void {
    void this.idle()
      .then(() => this.closeFile())
      .finally(() => unlink(this.tempPath, () => {}));
  }

  private idle(): Promise<void> {
    if (this.inFlight === 0) return Promise.resolve();
    return new Promise((resolve) => {
      this.onIdle = resolve;
    });
  }

  private closeFile(): Promise<void> {
    if (this.closed) return Promise.resolve();
    this.closed = true;
    return new Promise((resolve) => close(this.fd, () => resolve()));
  }
}
