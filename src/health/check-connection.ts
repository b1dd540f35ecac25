/**
 * A check's conversation with a server that speaks a binary or line protocol (MySQL,
 * PostgreSQL, Redis): connect, write, and await exact byte counts or lines. Checks run once
 * per interval, off the hot path, so clear async code wins over callbacks here. Every reply
 * byte is hostile: reads are bounded, and an abort or a close fails the pending read.
 */
import { connect, type Socket } from "node:net";
import { type CheckResult, type CheckStatus, type CheckTarget, describeError } from "./types.js";

/** Most bytes buffered from a server before the check gives up on it. */
const MAX_BUFFERED = 1024 * 1024;

/** A failure with the check status it stands for, thrown inside a check and caught once. */
export class CheckFailure extends Error {
  constructor(
    message: string,
    readonly status: CheckStatus,
  ) {
    super(message);
  }
}

/** One open connection of a check. */
export class CheckConnection {
  private buffered: Buffer = Buffer.alloc(0);
  private failure: CheckFailure | undefined;
  private wake: (() => void) | undefined;

  private constructor(
    private readonly socket: Socket,
    private readonly signal: AbortSignal,
  ) {
    socket.on("data", (chunk: Buffer) => {
      this.buffered = this.buffered.length === 0 ? chunk : Buffer.concat([this.buffered, chunk]);
      if (this.buffered.length > MAX_BUFFERED) {
        this.fail(new CheckFailure(`reply larger than ${MAX_BUFFERED} bytes`, "L7RSP"));
      }
      this.notify();
    });
    socket.on("end", () => this.fail(new CheckFailure("closed by the server", "L7RSP")));
    socket.on("error", (error) => this.fail(new CheckFailure(describeError(error), "L7RSP")));
    signal.addEventListener("abort", this.onAbort, { once: true });
  }

  /** Connects to the target; rejects with L4CON or L4TOUT. */
  static open(target: CheckTarget, signal: AbortSignal): Promise<CheckConnection> {
    return new Promise((resolve, reject) => {
      if (signal.aborted) return reject(new CheckFailure("timed out before connecting", "L4TOUT"));
      const socket = connect({ host: target.host, port: target.port });
      const onAbort = () => {
        socket.destroy();
        reject(new CheckFailure("timed out connecting", "L4TOUT"));
      };
      signal.addEventListener("abort", onAbort, { once: true });
      socket.once("error", (error) => {
        signal.removeEventListener("abort", onAbort);
        socket.destroy();
        reject(new CheckFailure(describeError(error), "L4CON"));
      });
      socket.once("connect", () => {
        signal.removeEventListener("abort", onAbort);
        socket.removeAllListeners("error");
        socket.setNoDelay(true);
        resolve(new CheckConnection(socket, signal));
      });
    });
  }

  /** Sends bytes; a failure shows up in the next read. */
  write(bytes: Buffer | string): void {
    if (this.failure === undefined) this.socket.write(bytes);
  }

  /** The next `length` bytes of the reply. */
  async read(length: number): Promise<Buffer> {
    if (length > MAX_BUFFERED) throw new CheckFailure(`reply claims ${length} bytes`, "L7RSP");
    while (this.buffered.length < length) await this.more();
    const bytes = this.buffered.subarray(0, length);
    this.buffered = this.buffered.subarray(length);
    return bytes;
  }

  /** The next line of the reply without its CRLF (Redis). */
  async readLine(): Promise<string> {
    for (;;) {
      const end = this.buffered.indexOf("\r\n");
      if (end >= 0) {
        const line = this.buffered.subarray(0, end).toString("latin1");
        this.buffered = this.buffered.subarray(end + 2);
        return line;
      }
      await this.more();
    }
  }

  /** Closes the socket at once; the server need not see a polite goodbye. */
  close(): void {
    this.signal.removeEventListener("abort", this.onAbort);
    this.socket.destroy();
  }

  private more(): Promise<void> {
    if (this.failure) return Promise.reject(this.failure);
    return new Promise<void>((resolve) => {
      this.wake = resolve;
    }).then(() => {
      if (this.failure) throw this.failure;
    });
  }

  private readonly onAbort = () =>
    this.fail(new CheckFailure("timed out waiting for a reply", "L7TOUT"));

  private fail(failure: CheckFailure): void {
    this.failure ??= failure;
    this.notify();
  }

  private notify(): void {
    const wake = this.wake;
    this.wake = undefined;
    wake?.();
  }
}

/**
 * Runs a check body on a fresh connection and turns every way it can end into a result:
 * the connection is closed whatever happens, and no error escapes.
 */
export async function runConversation(
  target: CheckTarget,
  signal: AbortSignal,
  body: (connection: CheckConnection) => Promise<CheckResult>,
): Promise<CheckResult> {
  let connection: CheckConnection | undefined;
  try {
    connection = await CheckConnection.open(target, signal);
    return await body(connection);
  } catch (error) {
    if (error instanceof CheckFailure)
      return { ok: false, detail: error.message, status: error.status };
    return { ok: false, detail: `checker error: ${describeError(error)}`, status: "UNK" };
  } finally {
    connection?.close();
  }
}
