/**
 * Bodies stream both ways, chunked and sized, without being buffered whole: 50 MB each way,
 * checked by SHA-256, and backpressure from a stalled reader reaches the writer.
 */
import assert from "node:assert/strict";
import { createHash } from "node:crypto";
import { request } from "node:http";
import { after, before, describe, it } from "node:test";
import {
  backendsOf,
  startBackend,
  startProxy,
  type TestBackend,
  type TestProxy,
} from "./helpers.js";

const TOTAL = 50 * 1024 * 1024;
const CHUNK = 64 * 1024;

/** Deterministic pseudo-random 64 KiB chunks, so both ends can checksum without storing. */
function chunkAt(index: number): Buffer {
  const chunk = Buffer.allocUnsafe(CHUNK);
  let x = (index + 1) * 2654435761;
  for (let i = 0; i < CHUNK; i += 4) {
    x ^= x << 13;
    x ^= x >>> 17;
    x ^= x << 5;
    chunk.writeInt32LE(x | 0, i);
  }
  return chunk;
}

const expectedDigest = (() => {
  const hash = createHash("sha256");
  for (let i = 0; i < TOTAL / CHUNK; i++) hash.update(chunkAt(i));
  return hash.digest("hex");
})();

/** Writes TOTAL bytes to a writable, respecting backpressure. */
function pump(target: NodeJS.WritableStream, done: () => void): void {
  let index = 0;
  const count = TOTAL / CHUNK;
  const next = (): void => {
    while (index < count) {
      const ok = target.write(chunkAt(index++));
      if (!ok) {
        target.once("drain", next);
        return;
      }
    }
    done();
  };
  next();
}

describe("http streaming", () => {
  let backend: TestBackend;
  let proxy: TestProxy;
  let uploadDigest = "";
  let uploadFraming = "";

  before(async () => {
    backend = await startBackend("b", (req, res) => {
      if (req.url?.startsWith("/upload")) {
        uploadFraming =
          req.headers["transfer-encoding"] ?? `length ${req.headers["content-length"]}`;
        const hash = createHash("sha256");
        req.on("data", (chunk: Buffer) => hash.update(chunk));
        req.on("end", () => {
          uploadDigest = hash.digest("hex");
          res.end(uploadDigest);
        });
        return;
      }
      if (req.url === "/download-sized") res.setHeader("content-length", TOTAL);
      pump(res, () => res.end());
    });
    proxy = await startProxy({ default_pool: "p" }, { p: { backends: backendsOf([backend]) } });
  });

  after(async () => {
    await proxy.close();
    await backend.close();
  });

  for (const sized of [false, true]) {
    it(`uploads 50 MB ${sized ? "with Content-Length" : "chunked"} intact`, async () => {
      const reply = await new Promise<string>((resolve, reject) => {
        const req = request(
          {
            host: "127.0.0.1",
            port: proxy.port,
            path: "/upload",
            method: "PUT",
            agent: false,
            headers: sized ? { "content-length": TOTAL } : { "transfer-encoding": "chunked" },
          },
          (res) => {
            let body = "";
            res.setEncoding("utf8");
            res.on("data", (chunk: string) => {
              body += chunk;
            });
            res.on("end", () => resolve(body));
          },
        );
        req.on("error", reject);
        pump(req, () => req.end());
      });
      assert.equal(reply, expectedDigest);
      assert.equal(uploadDigest, expectedDigest);
      assert.equal(uploadFraming, sized ? `length ${TOTAL}` : "chunked");
    });

    it(`downloads 50 MB ${sized ? "with Content-Length" : "chunked"} intact`, async () => {
      const { digest, length, framing } = await new Promise<{
        digest: string;
        length: number;
        framing: string;
      }>((resolve, reject) => {
        const req = request(
          {
            host: "127.0.0.1",
            port: proxy.port,
            path: sized ? "/download-sized" : "/download-chunked",
            agent: false,
          },
          (res) => {
            const hash = createHash("sha256");
            let length = 0;
            res.on("data", (chunk: Buffer) => {
              length += chunk.length;
              hash.update(chunk);
            });
            res.on("end", () =>
              resolve({
                digest: hash.digest("hex"),
                length,
                framing:
                  res.headers["transfer-encoding"] ?? `length ${res.headers["content-length"]}`,
              }),
            );
          },
        );
        req.on("error", reject);
        req.end();
      });
      assert.equal(length, TOTAL);
      assert.equal(digest, expectedDigest);
      assert.equal(framing, sized ? `length ${TOTAL}` : "chunked");
    });
  }

  it("a client that stops reading stops the backend's writes (no whole buffering)", async () => {
    let written = 0;
    let stalled: () => void = () => {};
    const stalledAt = new Promise<void>((resolve) => {
      stalled = resolve;
    });
    const writer = await startBackend("writer", (_req, res) => {
      const write = (): void => {
        // Writes until the socket says "full" for good; with backpressure end to end that
        // happens after a few MB of kernel and stream buffers, not after 50 MB.
        while (written < TOTAL) {
          written += CHUNK;
          if (!res.write(chunkAt(0))) {
            const timer = setTimeout(stalled, 300);
            res.once("drain", () => {
              clearTimeout(timer);
              write();
            });
            return;
          }
        }
        stalled();
      };
      write();
    });
    const stalling = await startProxy(
      { default_pool: "w" },
      { w: { backends: backendsOf([writer]) } },
    );
    const req = request(
      { host: "127.0.0.1", port: stalling.port, path: "/", agent: false },
      (res) => {
        res.pause();
      },
    );
    req.end();
    try {
      await stalledAt;
      assert.ok(written < TOTAL / 2, `backend wrote ${written} bytes into a stalled client`);
    } finally {
      req.destroy();
      await stalling.close();
      await writer.close();
    }
  });

  it("a backend that stops reading stops the client's upload (no whole buffering)", async () => {
    const reader = await startBackend("reader", (req) => {
      req.pause();
    });
    const stalling = await startProxy(
      { default_pool: "r" },
      { r: { backends: backendsOf([reader]) } },
    );
    const req = request({
      host: "127.0.0.1",
      port: stalling.port,
      path: "/",
      method: "POST",
      agent: false,
      headers: { "transfer-encoding": "chunked" },
    });
    req.on("error", () => {});
    let sent = 0;
    const stalled = await new Promise<boolean>((resolve) => {
      const write = (): void => {
        while (sent < TOTAL) {
          sent += CHUNK;
          if (!req.write(chunkAt(0))) {
            const timer = setTimeout(() => resolve(true), 300);
            req.once("drain", () => {
              clearTimeout(timer);
              write();
            });
            return;
          }
        }
        resolve(false);
      };
      write();
    });
    try {
      assert.ok(stalled && sent < TOTAL / 2, `client pushed ${sent} bytes into a stalled backend`);
    } finally {
      req.destroy();
      await stalling.close();
      await reader.close();
    }
  });
});
