/**
 * Reads a body out of the disk store onto a client's stream, with backpressure, never
 * holding more than a read buffer. A file found at start is checked against its SHA-256 the
 * first time it is sent whole: the last chunk is held back until the checksum matched, so a
 * body changed on disk ends in a cut connection, never in a complete wrong answer.
 */
import { createHash } from "node:crypto";
import { close, createReadStream, open } from "node:fs";
import type { Writable } from "node:stream";
import type { DiskBody } from "./cached-response.js";

const READ_CHUNK = 256 * 1024;

/** Opens a stored body's file; `done` gets the descriptor, or undefined when it is gone. */
export function openStoredBody(body: DiskBody, done: (fd: number | undefined) => void): void {
  open(body.file, "r", (error, fd) => done(error === null ? fd : undefined));
}

/**
 * Sends bytes `start`..`end` (inclusive) of the file on `fd` to `out` and ends it; closes the
 * file. `done(true)` when all was sent; `done(false)` when the file was shorter than its head
 * said or its checksum did not match (`out` is then destroyed: the caller drops the entry).
 */
export function streamStoredBody(
  fd: number,
  body: DiskBody,
  start: number,
  end: number,
  whole: boolean,
  out: Writable,
  done: (ok: boolean) => void,
): void {
  const expected = end - start + 1;
  if (expected <= 0) {
    close(fd, () => {});
    out.end();
    done(true);
    return;
  }
  const verify = whole && !body.verified ? createHash("sha256") : undefined;
  const input = createReadStream("", { fd, start, end, highWaterMark: READ_CHUNK });
  let sent = 0;
  let held: Buffer | undefined;
  const onOutClose = () => input.destroy();
  out.once("close", onOutClose);
  const resume = () => input.resume();
  input.on("data", (chunk: Buffer | string) => {
    const data = chunk as Buffer;
    sent += data.length;
    let toWrite: Buffer | undefined = data;
    if (verify !== undefined) {
      verify.update(data);
      toWrite = held;
      held = data;
    }
    if (toWrite !== undefined && !out.write(toWrite)) {
      input.pause();
      out.once("drain", resume);
    }
  });
  input.once("end", () => {
    out.off("close", onOutClose);
    const ok = sent === expected && (verify === undefined || verify.digest("hex") === body.sha256);
    if (!ok) {
      out.destroy();
      done(false);
      return;
    }
    if (verify !== undefined) body.verified = true;
    out.end(held);
    done(true);
  });
  input.once("error", () => {
    out.off("close", onOutClose);
    out.destroy();
    done(false);
  });
}
