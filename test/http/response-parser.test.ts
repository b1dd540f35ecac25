/**
 * The upstream response parser: every framing, fed whole and split at every byte; malformed
 * and oversized heads are errors; a backend closing mid-body leaves the response incomplete.
 */
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { ResponseParser, type ResponseSink } from "../../src/http/upstream/response-parser.js";

interface Parsed {
  status: number;
  reason: string;
  headers: string[];
  body: string;
  ended: boolean;
  ok: boolean;
  error: string;
  keepAlive: boolean;
  hintMs: number;
}

/** Feeds `chunks` to a fresh parser; `eof` then tells it the connection closed. */
function parse(chunks: Buffer[], options: { head?: boolean; eof?: boolean; max?: number } = {}) {
  const out: Parsed = {
    status: 0,
    reason: "",
    headers: [],
    body: "",
    ended: false,
    ok: true,
    error: "",
    keepAlive: false,
    hintMs: 0,
  };
  let ends = 0;
  const sink: ResponseSink = {
    onResponseHead(status, reason, headers) {
      assert.equal(out.status, 0, "one final head");
      out.status = status;
      out.reason = reason;
      out.headers = headers;
      return true;
    },
    onResponseData(chunk) {
      out.body += chunk.toString("latin1");
    },
    onResponseEnd() {
      ends++;
    },
  };
  const parser = new ResponseParser(sink, options.max ?? 8192);
  parser.reset(options.head ?? false);
  for (const chunk of chunks) {
    if (!parser.execute(chunk)) {
      out.ok = false;
      out.error = parser.error;
      break;
    }
  }
  if (out.ok && options.eof) parser.endOfInput();
  assert.ok(ends <= 1, "the end is reported once");
  out.ended = ends === 1;
  out.keepAlive = parser.keepAlive;
  out.hintMs = parser.keepAliveHintMs;
  return out;
}

/** The same bytes fed whole, then split in two at every position, then byte by byte. */
function everySplit(text: string, options: { head?: boolean; eof?: boolean } = {}): Parsed {
  const bytes = Buffer.from(text, "latin1");
  const whole = parse([bytes], options);
  for (let at = 1; at < bytes.length; at++) {
    const split = parse([bytes.subarray(0, at), bytes.subarray(at)], options);
    assert.deepEqual(split, whole, `split at ${at}`);
  }
  const single = [...bytes].map((byte) => Buffer.from([byte]));
  assert.deepEqual(parse(single, options), whole, "byte by byte");
  return whole;
}

describe("upstream response parser", () => {
  it("Content-Length framing, keep-alive, the reason phrase and fields as sent", () => {
    const r = everySplit(
      "HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nContent-Length: 5\r\n\r\nhello",
    );
    assert.equal(r.ok, true);
    assert.equal(r.status, 200);
    assert.equal(r.reason, "OK");
    assert.deepEqual(r.headers, ["Content-Type", "text/plain", "Content-Length", "5"]);
    assert.equal(r.body, "hello");
    assert.equal(r.ended, true);
    assert.equal(r.keepAlive, true);
  });

  it("chunked framing: data without the framing, extensions and trailers skipped", () => {
    const r = everySplit(
      "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n" +
        "5;name=value\r\nhello\r\nA\r\n, world!!!\r\n0\r\nX-Trailer: t\r\n\r\n",
    );
    assert.equal(r.ok, true, r.error);
    assert.equal(r.body, "hello, world!!!");
    assert.deepEqual(r.headers, [], "transfer-encoding is hop-by-hop");
    assert.equal(r.ended, true);
    assert.equal(r.keepAlive, true);
  });

  it("a body delimited by the close of the connection", () => {
    const r = everySplit("HTTP/1.1 200 OK\r\nX: y\r\n\r\nuntil the end", { eof: true });
    assert.equal(r.body, "until the end");
    assert.equal(r.ended, true);
    assert.equal(r.keepAlive, false, "not reusable");
    const open = parse([Buffer.from("HTTP/1.1 200 OK\r\n\r\nmore to come")]);
    assert.equal(open.ended, false, "no end before the close");
  });

  it("no body for HEAD, 204 and 304, whatever the framing fields say", () => {
    const head = everySplit("HTTP/1.1 200 OK\r\nContent-Length: 1234\r\n\r\n", { head: true });
    assert.equal(head.ended, true);
    assert.deepEqual(head.headers, ["Content-Length", "1234"], "kept for HEAD");
    for (const status of [204, 304]) {
      const r = everySplit(`HTTP/1.1 ${status} X\r\nETag: "e"\r\n\r\n`);
      assert.equal(r.status, status);
      assert.equal(r.ended, true);
      assert.equal(r.body, "");
      assert.equal(r.keepAlive, true);
    }
  });

  it("1xx heads are skipped; the final head follows", () => {
    const r = everySplit(
      "HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 103 Early Hints\r\nLink: </a>\r\n\r\n" +
        "HTTP/1.1 201 Created\r\nContent-Length: 2\r\n\r\nok",
    );
    assert.equal(r.status, 201);
    assert.deepEqual(r.headers, ["Content-Length", "2"]);
    assert.equal(r.body, "ok");
  });

  it("hop-by-hop fields and those Connection names are dropped; close and Keep-Alive read", () => {
    const r = everySplit(
      "HTTP/1.1 200 OK\r\nConnection: close, X-Private\r\nX-Private: p\r\nKeep-Alive: timeout=3\r\n" +
        "Proxy-Connection: x\r\nUpgrade: h2c\r\nTrailer: X\r\nX-Kept: k\r\nContent-Length: 0\r\n\r\n",
    );
    assert.deepEqual(r.headers, ["X-Kept", "k", "Content-Length", "0"]);
    assert.equal(r.keepAlive, false);
    assert.equal(r.hintMs, 3000);
    const http10 = everySplit("HTTP/1.0 200 OK\r\nContent-Length: 0\r\n\r\n");
    assert.equal(http10.keepAlive, false, "HTTP/1.0 closes by default");
  });

  it("a 204's Content-Length is not passed on (RFC 9110 8.6), a 304's is", () => {
    const noContent = parse([
      Buffer.from("HTTP/1.1 204 No Content\r\nContent-Length: 5\r\nX: y\r\n\r\n"),
    ]);
    assert.deepEqual(noContent.headers, ["X", "y"]);
    assert.equal(noContent.ended, true);
    const notModified = parse([
      Buffer.from("HTTP/1.1 304 Not Modified\r\nContent-Length: 5\r\n\r\n"),
    ]);
    assert.deepEqual(notModified.headers, ["Content-Length", "5"]);
  });

  it("bytes after a complete response make the connection not reusable", () => {
    const r = parse([Buffer.from("HTTP/1.1 200 OK\r\nContent-Length: 1\r\n\r\naEXTRA")]);
    assert.equal(r.ended, true);
    assert.equal(r.body, "a");
    assert.equal(r.keepAlive, false);
  });

  const malformed: [string, string][] = [
    ["not HTTP", "SMTP ready\r\n\r\n"],
    ["HTTP/2 status line", "HTTP/2 200 OK\r\n\r\n"],
    ["status not three digits", "HTTP/1.1 20 OK\r\n\r\n"],
    ["status with letters", "HTTP/1.1 2x0 OK\r\n\r\n"],
    ["no space after the status", "HTTP/1.1 200OK\r\n\r\n"],
    ["space before the colon", "HTTP/1.1 200 OK\r\nX-A : b\r\n\r\n"],
    ["no colon", "HTTP/1.1 200 OK\r\nX-A\r\n\r\n"],
    ["obs-fold", "HTTP/1.1 200 OK\r\nX-A: b\r\n c\r\n\r\n"],
    ["bare LF in a value", "HTTP/1.1 200 OK\r\nX-A: b\nX-B: c\r\n\r\n"],
    ["NUL in a value", "HTTP/1.1 200 OK\r\nX-A: b\0\r\n\r\n"],
    [
      "two different Content-Length",
      "HTTP/1.1 200 OK\r\nContent-Length: 1\r\nContent-Length: 2\r\n\r\n",
    ],
    ["Content-Length list", "HTTP/1.1 200 OK\r\nContent-Length: 1, 1\r\n\r\n"],
    ["negative Content-Length", "HTTP/1.1 200 OK\r\nContent-Length: -1\r\n\r\n"],
    [
      "Content-Length and Transfer-Encoding",
      "HTTP/1.1 200 OK\r\nContent-Length: 1\r\nTransfer-Encoding: chunked\r\n\r\n",
    ],
    ["101 to a plain request", "HTTP/1.1 101 Switching Protocols\r\n\r\n"],
    [
      "Transfer-Encoding in an HTTP/1.0 response (RFC 9112 6.1: faulty framing)",
      "HTTP/1.0 200 OK\r\nConnection: keep-alive\r\nTransfer-Encoding: chunked\r\n\r\n1\r\na\r\n0\r\n\r\n",
    ],
    ["chunk size not hex", "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n"],
    [
      "chunk longer than its size",
      "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n2\r\nabc\r\n",
    ],
    [
      "bare LF after a chunk size",
      "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n2\nab\r\n",
    ],
  ];
  for (const [label, text] of malformed) {
    it(`malformed: ${label}`, () => {
      const bytes = Buffer.from(text, "latin1");
      assert.equal(parse([bytes]).ok, false, "whole");
      for (let at = 1; at < bytes.length; at++) {
        const r = parse([bytes.subarray(0, at), bytes.subarray(at)]);
        assert.equal(r.ok, false, `split at ${at}`);
        assert.equal(r.status === 0 || r.ended === false, true);
      }
    });
  }

  it("a head larger than the limit is an error, whole or in pieces", () => {
    const big = `HTTP/1.1 200 OK\r\nX-Big: ${"x".repeat(300)}\r\n\r\n`;
    const whole = parse([Buffer.from(big)], { max: 256 });
    assert.equal(whole.ok, false);
    assert.match(whole.error, /too large/);
    const unfinished = Buffer.from(`HTTP/1.1 200 OK\r\nX-Big: ${"x".repeat(300)}`);
    const pieces = [
      unfinished.subarray(0, 100),
      unfinished.subarray(100, 200),
      unfinished.subarray(200),
    ];
    assert.equal(parse(pieces, { max: 256 }).ok, false, "no terminator yet, already too large");
    assert.equal(parse([Buffer.from(big)], { max: 4096 }).ok, true, "under a larger limit");
  });

  it("a backend closing mid-body leaves the response incomplete", () => {
    for (const text of [
      "HTTP/1.1 200 OK\r\nContent-Length: 10\r\n\r\nhalf",
      "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhel",
      "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhello\r\n",
      "HTTP/1.1 200 OK\r\nContent-Le",
    ]) {
      const r = parse([Buffer.from(text)], { eof: true });
      assert.equal(r.ok, true);
      assert.equal(r.ended, false, JSON.stringify(text));
    }
  });
});
