/**
 * A peer that frames its body in tiny chunks (`1\r\nx\r\n` over and over) does not make
 * ballast write a piece per chunk: the data of one read goes on in one piece, upstream for a
 * client's request body and to the client for a backend's response. Counted as parser
 * callbacks, and end to end as `write` calls on ballast's sockets.
 */
import assert from "node:assert/strict";
import { once } from "node:events";
import { type AddressInfo, connect, createServer, type Server, Socket } from "node:net";
import { after, before, describe, it } from "node:test";
import { RequestParser, type RequestSink } from "../../src/http/server/request-parser.js";
import { ResponseParser, type ResponseSink } from "../../src/http/upstream/response-parser.js";
import { eventually } from "../support/wait.js";
import {
  backendsOf,
  startBackend,
  startProxy,
  type TestBackend,
  type TestProxy,
} from "./helpers.js";

const CHUNKS = 500;
/** The body `x` CHUNKS times, as that many one-byte chunks and the last chunk. */
const tinyChunks = `${"1\r\nx\r\n".repeat(CHUNKS)}0\r\n\r\n`;

/** Counts `write` calls on the sockets `counted` picks while `run` goes on. */
async function countWrites(counted: (socket: Socket) => boolean, run: () => Promise<void>) {
  const original = Socket.prototype.write;
  let writes = 0;
  // biome-ignore lint/suspicious/noExplicitAny: the original's overloads.
  Socket.prototype.write = function (this: Socket, ...args: any[]) {
    if (counted(this)) writes++;
    // biome-ignore lint/suspicious/noExplicitAny: the original's overloads.
    return (original as any).apply(this, args);
  };
  try {
    await run();
  } finally {
    Socket.prototype.write = original;
  }
  return writes;
}

describe("tiny chunks cost one write per read", () => {
  it("the request parser hands the data of 500 one-byte chunks in one read on in one piece", () => {
    const pieces: string[] = [];
    const sink: RequestSink = {
      onRequestHead() {},
      onRequestData: (chunk) => pieces.push(chunk.toString()),
      onRequestEnd() {},
    };
    const parser = new RequestParser(sink, 16384);
    const head = "POST / HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n";
    const bytes = Buffer.from(head + tinyChunks);
    assert.equal(parser.execute(bytes, 0), bytes.length);
    assert.ok(parser.done);
    assert.deepEqual(pieces, ["x".repeat(CHUNKS)]);

    // In three reads: at most a piece each, the body unchanged.
    pieces.length = 0;
    parser.next();
    const third = Math.floor(bytes.length / 3);
    let at = parser.execute(bytes.subarray(0, third), 0);
    assert.equal(at, third);
    at = parser.execute(bytes.subarray(third, 2 * third), 0);
    assert.equal(at, third);
    at = parser.execute(bytes.subarray(2 * third), 0);
    assert.equal(at, bytes.length - 2 * third);
    assert.ok(parser.done);
    assert.ok(pieces.length <= 3, `${pieces.length} pieces`);
    assert.equal(pieces.join(""), "x".repeat(CHUNKS));
  });

  it("the response parser hands the data of 500 one-byte chunks in one read on in one piece", () => {
    const pieces: string[] = [];
    let ended = false;
    const sink: ResponseSink = {
      onResponseHead: () => true,
      onResponseData: (chunk) => pieces.push(chunk.toString()),
      onResponseEnd: () => {
        ended = true;
      },
    };
    const parser = new ResponseParser(sink, 16384);
    parser.reset(false);
    const bytes = Buffer.from(`HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n${tinyChunks}`);
    assert.ok(parser.execute(bytes));
    assert.ok(ended);
    assert.deepEqual(pieces, ["x".repeat(CHUNKS)]);

    // A single large chunk stays a view of the read, not a copy.
    const views: Buffer[] = [];
    const viewParser = new ResponseParser({ ...sink, onResponseData: (c) => views.push(c) }, 16384);
    viewParser.reset(false);
    const one = Buffer.from("HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhello\r\n");
    assert.ok(viewParser.execute(one));
    assert.equal(views.length, 1);
    assert.equal(views[0].buffer, one.buffer);
  });

  describe("end to end", () => {
    let backend: TestBackend;
    let tinyBackend: Server;
    let tinyPort = 0;
    let proxy: TestProxy;
    let tinyProxy: TestProxy;

    before(async () => {
      backend = await startBackend("echo", (req, res) => {
        const chunks: Buffer[] = [];
        req.on("data", (chunk: Buffer) => chunks.push(chunk));
        req.on("end", () => res.end(Buffer.concat(chunks)));
      });
      // A raw backend that answers every request with CHUNKS one-byte chunks in one write.
      tinyBackend = createServer((socket) => {
        socket.on("error", () => {});
        socket.on("data", (chunk: Buffer) => {
          if (chunk.includes("\r\n\r\n")) {
            socket.write(`HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n${tinyChunks}`);
          }
        });
      });
      tinyBackend.listen(0, "127.0.0.1");
      await once(tinyBackend, "listening");
      tinyPort = (tinyBackend.address() as AddressInfo).port;
      proxy = await startProxy({ default_pool: "p" }, { p: { backends: backendsOf([backend]) } });
      tinyProxy = await startProxy(
        { default_pool: "p" },
        { p: { backends: [{ address: `127.0.0.1:${tinyPort}`, name: "tiny" }] } },
      );
    });

    after(async () => {
      await proxy.close();
      await tinyProxy.close();
      await backend.close();
      tinyBackend.close();
    });

    it("a request body of 500 one-byte chunks sent at once reaches the backend in a few writes", async () => {
      let received = "";
      const writes = await countWrites(
        (socket) => socket.remotePort === backend.port,
        async () => {
          const client = connect(proxy.port, "127.0.0.1");
          await once(client, "connect");
          client.on("data", (chunk: Buffer) => {
            received += chunk.toString("latin1");
          });
          client.write(
            `POST /up HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n${tinyChunks}`,
          );
          assert.ok(await eventually(() => received.endsWith("x".repeat(CHUNKS))), received);
          client.destroy();
        },
      );
      assert.match(received, /^HTTP\/1\.1 200 /);
      // Before: three writes per chunk (size line, data, CRLF), 1 500 in all.
      assert.ok(writes <= 10, `${writes} writes upstream`);
    });

    it("a response of 500 one-byte chunks sent at once reaches the client in a few writes", async () => {
      let received = "";
      const writes = await countWrites(
        (socket) => socket.localPort === tinyProxy.port,
        async () => {
          const client = connect(tinyProxy.port, "127.0.0.1");
          await once(client, "connect");
          client.on("data", (chunk: Buffer) => {
            received += chunk.toString("latin1");
          });
          client.write("GET /down HTTP/1.1\r\nHost: x\r\n\r\n");
          assert.ok(await eventually(() => received.endsWith("\r\n0\r\n\r\n")), received);
          client.destroy();
        },
      );
      const body = received.slice(received.indexOf("\r\n\r\n") + 4);
      // The client's framing: the pieces of each read, re-framed as one chunk each.
      const data = body.replace(/[0-9a-f]+\r\n((?:x)*)\r\n/g, "$1");
      assert.equal(data, "x".repeat(CHUNKS));
      // Before: one write per chunk, 500 in all.
      assert.ok(writes <= 10, `${writes} writes to the client`);
    });
  });
});
