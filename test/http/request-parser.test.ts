/**
 * The client-side request parser of ballast's own server: every framing fed whole, split at
 * every byte and byte by byte gives the same requests; pipelined requests come one at a time;
 * every smuggling vector llhttp refuses is refused with the status node's server gives.
 */
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { RequestParser, type RequestSink } from "../../src/http/server/request-parser.js";

interface Request {
  method: string;
  url: string;
  version: string;
  headers: string[];
  keepAlive: boolean;
  upgrade: boolean;
  expect: string | undefined;
  body: string;
  ended: boolean;
}

interface Parsed {
  requests: Request[];
  status: number;
  error: string;
  /** Bytes left after an upgrade head. */
  rest: string;
}

/** Feeds `chunks` to a fresh parser, moving to the next request after each one. */
function parse(chunks: Buffer[], max = 8192): Parsed {
  const out: Parsed = { requests: [], status: 0, error: "", rest: "" };
  let current: Request | undefined;
  const parser: RequestParser = new RequestParser(
    {
      onRequestHead() {
        current = {
          method: parser.method,
          url: parser.url,
          version: `${parser.versionMajor}.${parser.versionMinor}`,
          headers: parser.rawHeaders,
          keepAlive: parser.keepAlive,
          upgrade: parser.upgrade,
          expect: parser.expect,
          body: "",
          ended: false,
        };
        out.requests.push(current);
      },
      onRequestData(chunk) {
        current!.body += chunk.toString("latin1");
      },
      onRequestEnd() {
        assert.equal(current!.ended, false, "the end is reported once");
        current!.ended = true;
      },
    } satisfies RequestSink,
    max,
  );
  for (const chunk of chunks) {
    let at = 0;
    while (at < chunk.length) {
      if (parser.upgraded) {
        out.rest += chunk.toString("latin1", at);
        break;
      }
      at = parser.execute(chunk, at);
      if (at < 0) {
        out.status = parser.status;
        out.error = parser.error;
        return out;
      }
      if (parser.done) parser.next();
    }
  }
  return out;
}

/** A chunked POST with `body` as its coded body. */
function chunkedWith(body: string): string {
  return `POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\n${body}`;
}

/** The same bytes fed whole, split in two at every position, and byte by byte. */
function everySplit(text: string, max?: number): Parsed {
  const bytes = Buffer.from(text, "latin1");
  const whole = parse([bytes], max);
  for (let at = 1; at < bytes.length; at++) {
    const split = parse([bytes.subarray(0, at), bytes.subarray(at)], max);
    assert.deepEqual(split, whole, `split at ${at}`);
  }
  const single = [...bytes].map((byte) => Buffer.from([byte]));
  assert.deepEqual(parse(single, max), whole, "byte by byte");
  return whole;
}

describe("client request parser", () => {
  it("finds the end of a head wherever the blank line falls, short heads and long ones", () => {
    // Short heads are searched in JavaScript (skipping four bytes at a time), long ones with
    // Buffer.indexOf: every alignment of the blank line, values ending next to it in CR/LF-
    // free and in CR/LF-rich text, and a pipelined second request right behind.
    for (const pad of [0, 1, 2, 3, 4, 5, 6, 7, 600, 1100]) {
      const head = `GET /${"a".repeat(pad % 9)} HTTP/1.1\r\nHost: x\r\nX-V: ${"b".repeat(pad)}\r\n\r\n`;
      const bytes = Buffer.from(`${head}GET /next HTTP/1.1\r\nHost: y\r\n\r\n`);
      const parsed = parse([bytes], 4096);
      assert.equal(parsed.status, 0, `pad ${pad}: ${parsed.error}`);
      assert.deepEqual(
        parsed.requests.map((r) => [r.url, r.headers]),
        [
          [`/${"a".repeat(pad % 9)}`, ["Host", "x", "X-V", "b".repeat(pad)]],
          ["/next", ["Host", "y"]],
        ],
        `pad ${pad}`,
      );
    }
  });

  it("a GET: method, target, version and fields as sent, OWS trimmed", () => {
    const out = everySplit("GET /a?b=1 HTTP/1.1\r\nHost: x\r\nX-Case:  v  w \t\r\n\r\n");
    assert.equal(out.status, 0);
    assert.deepEqual(out.requests, [
      {
        method: "GET",
        url: "/a?b=1",
        version: "1.1",
        headers: ["Host", "x", "X-Case", "v  w"],
        keepAlive: true,
        upgrade: false,
        expect: undefined,
        body: "",
        ended: true,
      },
    ]);
  });

  it("a Content-Length body, then a pipelined request, in order", () => {
    const out = everySplit(
      "POST /p HTTP/1.1\r\nHost: x\r\nContent-Length: 5\r\n\r\nhelloGET /q HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n",
    );
    assert.deepEqual(
      out.requests.map((r) => [r.method, r.url, r.body, r.keepAlive, r.ended]),
      [
        ["POST", "/p", "hello", true, true],
        ["GET", "/q", "", false, true],
      ],
    );
  });

  it("a chunked body with extensions and trailers; the framing is removed", () => {
    const out = everySplit(
      "POST / HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n5;a=b\r\nhello\r\nA\r\n 012345678\r\n0\r\nX-T: 1\r\n\r\n",
    );
    assert.equal(out.status, 0, out.error);
    assert.equal(out.requests[0].body, "hello 012345678");
  });

  it("chunk extensions by the grammar: names, tokens, quoted strings, spaces around them", () => {
    const out = everySplit(
      'POST / HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n5 ; a = "q\\"x;" ; c\r\nhello\r\n0;last\r\n\r\n',
    );
    assert.equal(out.status, 0, out.error);
    assert.equal(out.requests[0].body, "hello");
  });

  it("empty lines before a request line are ignored", () => {
    const out = everySplit("\r\n\r\nGET / HTTP/1.1\r\nHost: x\r\n\r\n");
    assert.equal(out.requests.length, 1);
  });

  it("HTTP/1.0 is keep-alive only when it says so", () => {
    assert.equal(everySplit("GET / HTTP/1.0\r\n\r\n").requests[0].keepAlive, false);
    const kept = everySplit("GET / HTTP/1.0\r\nConnection: Keep-Alive\r\n\r\n");
    assert.equal(kept.requests[0].keepAlive, true);
  });

  it("an upgrade head stops the parse; the bytes after it are left as they are", () => {
    const out = everySplit(
      "GET /ws HTTP/1.1\r\nHost: x\r\nConnection: keep-alive, Upgrade\r\nUpgrade: websocket\r\n\r\n\x81\x05hello",
    );
    assert.equal(out.requests[0].upgrade, true);
    assert.equal(out.rest, "\x81\x05hello");
    const connect = parse([Buffer.from("CONNECT a:443 HTTP/1.1\r\nHost: a:443\r\n\r\n")]);
    assert.equal(connect.requests[0].upgrade, true);
  });

  it("Expect is reported for the server to answer", () => {
    const out = parse([
      Buffer.from(
        "POST / HTTP/1.1\r\nHost: x\r\nExpect: 100-continue\r\nContent-Length: 1\r\n\r\n",
      ),
    ]);
    assert.equal(out.requests[0].expect, "100-continue");
    assert.equal(out.requests[0].ended, false, "the body is still to come");
  });

  it("Expect fields are one list: an unknown expectation is not hidden by a later 100-continue", () => {
    const out = parse([
      Buffer.from(
        "POST / HTTP/1.1\r\nHost: x\r\nExpect: foo\r\nExpect: 100-continue\r\nContent-Length: 1\r\n\r\n",
      ),
    ]);
    assert.equal(out.requests[0].expect, "foo, 100-continue");
  });

  it("bytes that cannot begin a request line are refused at once, not held for the timeout", () => {
    for (const junk of [
      "\x16\x03\x01\x00\xa5\x01\x00\x00\xa1\x03\x03", // a TLS client hello
      "get / HTTP/1.1\r\n",
      "\x00GET",
      " GET /",
      "GETTINGLONGERTHANANYMETHOD",
      "GET /\r\n", // HTTP/0.9's simple request: no blank line will follow
      "GET / HTTP/1.1 \r\nHost: a\r\n",
      "GET / HTTP/1.10\r\n",
    ]) {
      const bytes = Buffer.from(junk, "latin1");
      assert.equal(parse([bytes]).status, 400, JSON.stringify(junk));
      assert.equal(
        parse([...bytes].map((b) => Buffer.from([b]))).status,
        400,
        JSON.stringify(junk),
      );
    }
    for (const start of [
      "G",
      "GET",
      "M-SEARCH",
      "UNSUBSCRIBE",
      "GET /partial HT",
      "GET / HTTP/1.1\r\nHost: a\r\n",
      "\r\nGET / HTTP/1.1\r\nHost: a\r\n",
    ]) {
      const bytes = Buffer.from(start);
      assert.equal(parse([bytes]).status, 0, `${start} may still become a request`);
      const single = [...bytes].map((b) => Buffer.from([b]));
      assert.equal(parse(single).status, 0, `${start}, byte by byte`);
    }
  });

  it("versions other than 1.x are parsed, for the checks after the parser to answer", () => {
    assert.equal(
      parse([Buffer.from("GET / HTTP/2.0\r\nHost: x\r\n\r\n")]).requests[0].version,
      "2.0",
    );
    assert.equal(parse([Buffer.from("GET / HTTP/0.9\r\n\r\n")]).requests[0].version, "0.9");
  });

  const refused: [string, string, number][] = [
    [
      "Content-Length with Transfer-Encoding",
      "POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 5\r\nTransfer-Encoding: chunked\r\n\r\n",
      400,
    ],
    [
      "two Content-Length fields",
      "POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 5\r\nContent-Length: 6\r\n\r\n",
      400,
    ],
    [
      "a repeated equal Content-Length",
      "POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 5\r\nContent-Length: 5\r\n\r\n",
      400,
    ],
    ["a Content-Length list", "POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 5, 5\r\n\r\n", 400],
    ["a signed Content-Length", "POST / HTTP/1.1\r\nHost: a\r\nContent-Length: +5\r\n\r\n", 400],
    [
      "an overflowing Content-Length",
      `POST / HTTP/1.1\r\nHost: a\r\nContent-Length: ${"9".repeat(20)}\r\n\r\n`,
      400,
    ],
    [
      "Transfer-Encoding not ending in chunked",
      "POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked, gzip\r\n\r\n",
      400,
    ],
    ["no Host in HTTP/1.1", "GET / HTTP/1.1\r\n\r\n", 400],
    ["whitespace before a colon", "GET / HTTP/1.1\r\nHost : a\r\n\r\n", 400],
    ["obs-fold", "GET / HTTP/1.1\r\nHost: a\r\nX-A: b\r\n c\r\n\r\n", 400],
    ["a bare LF line end", "GET / HTTP/1.1\nHost: a\r\n\r\n", 400],
    ["a bare LF in a field", "GET / HTTP/1.1\r\nHost: a\r\nX: a\nb\r\n\r\n", 400],
    ["a bare CR in a field", "GET / HTTP/1.1\r\nHost: a\r\nX: a\rb\r\n\r\n", 400],
    ["a NUL in a field", "GET / HTTP/1.1\r\nHost: a\r\nX: a\x00b\r\n\r\n", 400],
    ["a name that is not a token", "GET / HTTP/1.1\r\nHost: a\r\nX(y): 1\r\n\r\n", 400],
    ["an empty field name", "GET / HTTP/1.1\r\nHost: a\r\n: 1\r\n\r\n", 400],
    ["a control character in the target", "GET /\x01 HTTP/1.1\r\nHost: a\r\n\r\n", 400],
    ["a tab in the target", "GET /a\tb HTTP/1.1\r\nHost: a\r\n\r\n", 400],
    // llhttp behind ballast would refuse these bytes, and the proxy count it as the backend's
    // failure: a client could fail a pool with them.
    ["a byte above 0x7f in the target", "GET /caf\xe9 HTTP/1.1\r\nHost: a\r\n\r\n", 400],
    ["UTF-8 in the target", "GET /caf\xc3\xa9 HTTP/1.1\r\nHost: a\r\n\r\n", 400],
    ["a DEL in the target", "GET /a\x7fb HTTP/1.1\r\nHost: a\r\n\r\n", 400],
    ["two spaces in the request line", "GET  / HTTP/1.1\r\nHost: a\r\n\r\n", 400],
    ["an unknown method", "BREW / HTTP/1.1\r\nHost: a\r\n\r\n", 400],
    ["a lower-case method", "get / HTTP/1.1\r\nHost: a\r\n\r\n", 400],
    ["a malformed version", "GET / HTTP/1.10\r\nHost: a\r\n\r\n", 400],
    ["no version (HTTP/0.9 style)", "GET /\r\n\r\n", 400],
    [
      "a chunk size that overflows",
      "POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\nfffffffffffffffff\r\n",
      400,
    ],
    [
      "a chunk extension with a bare LF",
      "POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\n5;a\nb\r\nhello\r\n0\r\n\r\n",
      400,
    ],
    [
      "chunk data longer than its size",
      "POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\n2\r\nhello\r\n0\r\n\r\n",
      400,
    ],
    [
      "a chunk size line ending in a bare LF",
      "POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\n5\nhello\r\n0\r\n\r\n",
      400,
    ],
    ["a chunk extension value that is no token", chunkedWith("5;a=(1\r\nhello\r\n0\r\n\r\n"), 400],
    ["a chunk extension without a name", chunkedWith("5;=1\r\nhello\r\n0\r\n\r\n"), 400],
    ["a chunk extension name with a space inside", chunkedWith("5;a b\r\nhello\r\n0\r\n\r\n"), 400],
    ["a trailer name that is no token", chunkedWith("0\r\nT(: 1\r\n\r\n"), 400],
    ["a trailer line without a colon", chunkedWith("0\r\nT 1\r\n\r\n"), 400],
    [
      "a head above the limit",
      `GET / HTTP/1.1\r\nHost: a\r\nX-Big: ${"x".repeat(300)}\r\n\r\n`,
      431,
    ],
    ["a request line above the limit", `GET /${"x".repeat(300)} HTTP/1.1\r\nHost: a\r\n\r\n`, 414],
  ];
  for (const [label, text, status] of refused) {
    it(`refuses ${label} with ${status}, whole and split at every byte`, () => {
      const bytes = Buffer.from(text, "latin1");
      const whole = parse([bytes], 256);
      assert.equal(whole.status, status, whole.error);
      for (let at = 1; at < bytes.length; at++) {
        const split = parse([bytes.subarray(0, at), bytes.subarray(at)], 256);
        assert.equal(split.status, status, `split at ${at}: ${split.error}`);
      }
    });
  }

  it("a head too large is refused before its end arrives", () => {
    const out = parse([Buffer.from(`GET / HTTP/1.1\r\nHost: a\r\nX: ${"x".repeat(400)}`)], 256);
    assert.equal(out.status, 431);
    const line = parse([Buffer.from(`GET /${"x".repeat(400)}`)], 256);
    assert.equal(line.status, 414);
  });

  it("a bare LF is refused at once, without waiting for the end of the head", () => {
    assert.equal(parse([Buffer.from("GET / HTTP/1.1\nHost: a")]).status, 400);
  });
});
