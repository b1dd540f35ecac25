/**
 * Large transfers through the tcp listener arrive byte for byte, in both directions, also when
 * slow clients hold the proxy's writes back and several transfers run at once (the backend's
 * bytes are read into a reused buffer, which must never be overwritten while a write holds it).
 */
import assert from "node:assert/strict";
import { createHash, randomBytes } from "node:crypto";
import type { Socket } from "node:net";
import { after, describe, it } from "node:test";
import { runCleanups } from "../support/cleanups.js";
import { dial, frontTcp, tcpServer } from "./helpers.js";

const cleanups: (() => Promise<void> | void)[] = [];
after(async () => {
  await runCleanups(cleanups);
});

const DOWNLOAD_BYTES = 8 * 1024 * 1024;
const UPLOAD_BYTES = 4 * 1024 * 1024;
const LIMIT_MS = 30_000;

function sha256(data: Buffer): string {
  return createHash("sha256").update(data).digest("hex");
}

/**
 * Reads a socket to its end, stopping for a few milliseconds after every `stallEvery` bytes
 * so that the proxy's writes to it back up. Rejects after LIMIT_MS.
 */
function readAllSlowly(socket: Socket, stallEvery: number): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let sinceStall = 0;
    let stall: NodeJS.Timeout | undefined;
    const limit = setTimeout(() => finish(new Error("transfer did not end in time")), LIMIT_MS);
    const finish = (error?: Error) => {
      clearTimeout(limit);
      if (stall) clearTimeout(stall);
      socket.destroy();
      if (error) reject(error);
      else resolve(Buffer.concat(chunks));
    };
    socket.on("data", (chunk: Buffer) => {
      chunks.push(chunk);
      sinceStall += chunk.length;
      if (sinceStall >= stallEvery) {
        sinceStall = 0;
        socket.pause();
        stall = setTimeout(() => socket.resume(), 5);
      }
    });
    socket.on("end", () => finish());
    socket.on("error", (error) => finish(error));
  });
}

describe("tcp listener, bulk transfers", () => {
  it("delivers a large download intact to several slow clients at once", async () => {
    const payload = randomBytes(DOWNLOAD_BYTES);
    const backend = await tcpServer((socket) => {
      socket.end(payload);
    });
    cleanups.push(() => backend.close());
    const front = await frontTcp([{ host: "127.0.0.1", port: backend.port }]);
    cleanups.push(() => front.close());

    const clients = await Promise.all([1, 2, 3, 4].map(() => dial(front.port)));
    // Different stall rhythms, so the transfers interleave differently.
    const received = await Promise.all(
      clients.map((client, i) => readAllSlowly(client, (i + 1) * 512 * 1024)),
    );
    for (const data of received) {
      assert.equal(data.length, payload.length);
      assert.equal(sha256(data), sha256(payload));
    }
  });

  it("delivers a large upload intact to a slow backend, and its answer back", async () => {
    const payload = randomBytes(UPLOAD_BYTES);
    // The backend reads slowly, then answers with the digest of what it got.
    const backend = await tcpServer(
      (socket) => {
        readAllSlowlyThenAnswer(socket);
      },
      { allowHalfOpen: true },
    );
    cleanups.push(() => backend.close());
    const front = await frontTcp([{ host: "127.0.0.1", port: backend.port }]);
    cleanups.push(() => front.close());

    const client = await dial(front.port, { allowHalfOpen: true });
    const answer = readAllSlowly(client, Number.MAX_SAFE_INTEGER);
    client.end(payload);
    assert.equal((await answer).toString(), sha256(payload));
  });
});

/** Backend side of the upload test: hashes the stream, stalling now and then, then answers. */
function readAllSlowlyThenAnswer(socket: Socket): void {
  const hash = createHash("sha256");
  let sinceStall = 0;
  socket.on("data", (chunk: Buffer) => {
    hash.update(chunk);
    sinceStall += chunk.length;
    if (sinceStall >= 256 * 1024) {
      sinceStall = 0;
      socket.pause();
      setTimeout(() => socket.resume(), 5).unref();
    }
  });
  socket.on("end", () => socket.end(hash.digest("hex")));
}
