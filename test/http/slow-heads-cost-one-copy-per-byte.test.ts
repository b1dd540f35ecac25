/**
 * A peer that sends its head a byte at a time costs ballast one copy per byte, not a copy of
 * everything held so far per byte (quadratic): a client's request head, a backend's response
 * head, and a backend's answer to an upgrade. Counted as the bytes that Buffer.concat,
 * Buffer.from and Buffer#copy move while the head arrives.
 */
import assert from "node:assert/strict";
import { once } from "node:events";
import { type AddressInfo, connect, createServer, type Server } from "node:net";
import { after, before, describe, it } from "node:test";
import { RequestParser, type RequestSink } from "../../src/http/server/request-parser.js";
import { ResponseParser, type ResponseSink } from "../../src/http/upstream/response-parser.js";
import { eventually } from "../support/wait.js";
import { startProxy, type TestProxy } from "./helpers.js";

/** A field of `size` bytes, so that the head is long. */
const padding = (size: number) => `X-Padding: ${"p".repeat(size)}\r\n`;

/** Bytes copied by Buffer.concat, Buffer.from(buffer) and Buffer#copy while `run` goes on. */
async function countCopied(run: () => Promise<void> | void): Promise<number> {
  const concat = Buffer.concat;
  const from = Buffer.from;
  const copy = Buffer.prototype.copy;
  let copied = 0;
  Buffer.concat = (list: readonly Uint8Array[], length?: number) => {
    const joined = concat(list, length);
    copied += joined.length;
    return joined;
  };
  // biome-ignore lint/suspicious/noExplicitAny: Buffer.from's overloads.
  (Buffer as any).from = (value: any, ...rest: any[]) => {
    // biome-ignore lint/suspicious/noExplicitAny: Buffer.from's overloads.
    const made = (from as any)(value, ...rest);
    if (value instanceof Uint8Array) copied += made.length;
    return made;
  };
  Buffer.prototype.copy = function (
    this: Buffer,
    target: Uint8Array,
    targetStart?: number,
    sourceStart?: number,
    sourceEnd?: number,
  ) {
    const count = copy.call(this, target, targetStart, sourceStart, sourceEnd);
    copied += count;
    return count;
  };
  try {
    await run();
  } finally {
    Buffer.concat = concat;
    Buffer.from = from;
    Buffer.prototype.copy = copy;
  }
  return copied;
}

describe("slow heads cost one copy per byte", () => {
  it("a response head of 8 KB fed to the response parser a byte at a time", async () => {
    let heads = 0;
    const sink: ResponseSink = {
      onResponseHead: () => {
        heads++;
        return true;
      },
      onResponseData() {},
      onResponseEnd() {},
    };
    const parser = new ResponseParser(sink, 16384);
    parser.reset(false);
    const head = Buffer.from(`HTTP/1.1 200 OK\r\n${padding(8000)}Content-Length: 0\r\n\r\n`);
    // Bytes as a socket would give them: each read its own buffer.
    const bytes = Array.from({ length: head.length }, (_, i) => head.subarray(i, i + 1));
    const copied = await countCopied(() => {
      for (const byte of bytes) assert.ok(parser.execute(byte), parser.error);
    });
    assert.equal(heads, 1);
    assert.ok(parser.done);
    // Before: a Buffer.concat of everything held per byte, about 33 MB.
    assert.ok(copied <= 2 * head.length, `${copied} bytes copied for a ${head.length}-byte head`);
  });

  it("a request head of 8 KB fed to the request parser a byte at a time", async () => {
    let heads = 0;
    const sink: RequestSink = {
      onRequestHead: () => {
        heads++;
      },
      onRequestData() {},
      onRequestEnd() {},
    };
    const parser = new RequestParser(sink, 16384);
    const head = Buffer.from(`GET / HTTP/1.1\r\nHost: x\r\n${padding(8000)}\r\n`);
    const bytes = Array.from({ length: head.length }, (_, i) => head.subarray(i, i + 1));
    const copied = await countCopied(() => {
      for (const byte of bytes) assert.equal(parser.execute(byte, 0), 1, parser.error);
    });
    assert.equal(heads, 1);
    assert.ok(copied <= 2 * head.length, `${copied} bytes copied for a ${head.length}-byte head`);
  });

  describe("the answer to an upgrade", () => {
    let backend: Server;
    let proxy: TestProxy;
    const answer = `HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n${padding(3000)}\r\n`;

    before(async () => {
      // Answers an upgrade with its head in pieces of 4 bytes, each in its own write.
      backend = createServer((socket) => {
        socket.setNoDelay(true);
        socket.on("error", () => {});
        socket.once("data", () => {
          let at = 0;
          const next = () => {
            if (socket.destroyed || at >= answer.length) return;
            socket.write(answer.slice(at, at + 4));
            at += 4;
            setTimeout(next, 1);
          };
          next();
        });
      });
      backend.listen(0, "127.0.0.1");
      await once(backend, "listening");
      const port = (backend.address() as AddressInfo).port;
      proxy = await startProxy(
        { default_pool: "p" },
        { p: { backends: [{ address: `127.0.0.1:${port}`, name: "slow" }] } },
      );
    });

    after(async () => {
      await proxy.close();
      backend.close();
    });

    it("a 3 KB 101 answer arriving in pieces of 4 bytes reaches the client, copied about once", async () => {
      let received = "";
      const copied = await countCopied(async () => {
        const client = connect(proxy.port, "127.0.0.1");
        await once(client, "connect");
        client.on("data", (chunk: Buffer) => {
          received += chunk.toString("latin1");
        });
        client.write(
          "GET /ws HTTP/1.1\r\nHost: x\r\nConnection: Upgrade\r\nUpgrade: websocket\r\n" +
            "Sec-WebSocket-Version: 13\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n\r\n",
        );
        assert.ok(
          await eventually(() => received.endsWith("\r\n\r\n"), 20_000),
          received.slice(0, 200),
        );
        client.destroy();
      });
      assert.match(received, /^HTTP\/1\.1 101 /);
      // Before: a Buffer.concat of everything held per read (several hundred reads of a
      // growing answer, hundreds of KB); now each byte once into the store and once out.
      assert.ok(copied <= 4 * answer.length, `${copied} bytes copied for ${answer.length}`);
    });
  });
});
