/**
 * CPU cost of the head work of one proxied request, in nanoseconds, without sockets: the
 * request parser, the scan that builds the upstream fields, the upstream head string, the
 * response parser and the client response head. Each with the fields passed on as received
 * ("passthrough") and rebuilt field by field ("rebuild", what an upgrade and a field with
 * unusual whitespace get), in the same run. A steadier figure than requests per
 * CPU-second on a loaded machine, though still only a guide.
 * Usage: node dist/bench/http/head-micro.js
 */
import type { IncomingMessage } from "node:http";
import { type ForwardingPolicy, scanRequestHead } from "../../src/http/forward-headers.js";
import { ClientRequest } from "../../src/http/server/client-request.js";
import { ClientResponse, type ResponseOwner } from "../../src/http/server/client-response.js";
import { RequestParser, type RequestSink } from "../../src/http/server/request-parser.js";
import { compileAddressSet } from "../../src/http/trusted-proxies.js";
import { upstreamHead } from "../../src/http/upstream/client.js";
import {
  type ResponseFields,
  ResponseParser,
  type ResponseSink,
} from "../../src/http/upstream/response-parser.js";

const CALLS = Number(process.env.BENCH_CALLS ?? 300_000);

const heads: Record<string, string> = {
  wrk: "GET / HTTP/1.1\r\nHost: 127.0.0.1:8080\r\n\r\n",
  browser:
    "GET /api/v1/items/42?page=3 HTTP/1.1\r\nHost: api.example.com\r\n" +
    "User-Agent: Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/120.0\r\n" +
    "Accept: text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8\r\n" +
    "Accept-Language: en-US,en;q=0.5\r\nAccept-Encoding: gzip, deflate, br\r\n" +
    "Cookie: _ga=GA1.2.12345.67890; theme=dark; session=abcdef0123456789\r\n" +
    "Connection: keep-alive\r\nUpgrade-Insecure-Requests: 1\r\nCache-Control: max-age=0\r\n\r\n",
};
const RESPONSE = Buffer.from(
  "HTTP/1.1 200 OK\r\nServer: nginx/1.22.1\r\nDate: Tue, 01 Dec 2026 18:00:00 GMT\r\n" +
    "Content-Type: text/plain\r\nContent-Length: 45\r\nConnection: keep-alive\r\n\r\n" +
    "hello from the backend, a small fixed answer\n",
);

const policy: ForwardingPolicy = {
  enabled: true,
  trusted: compileAddressSet([]),
  proto: "http",
  rfc7239: false,
  rfc7239By: undefined,
  underscores: false,
  maxFields: 100,
};
const socket = { remoteAddress: "127.0.0.1", localAddress: "127.0.0.1", localPort: 8080 };

const scratch = Buffer.allocUnsafe(65_536);
const requestSink: RequestSink = {
  onRequestHead() {},
  onRequestData() {},
  onRequestEnd() {},
};

function time(label: string, call: () => number): void {
  let sink = 0;
  for (let i = 0; i < CALLS / 10; i++) sink += call(); // warm-up
  const start = process.cpuUsage();
  for (let i = 0; i < CALLS; i++) sink += call();
  const used = process.cpuUsage(start);
  const ns = ((used.user + used.system) * 1000) / CALLS;
  if (sink === 0) throw new Error(`${label}: nothing produced`);
  console.log(`${label.padEnd(44)} ${ns.toFixed(0).padStart(6)} ns`);
}

for (const [name, text] of Object.entries(heads)) {
  const bytes = Buffer.from(text);
  const parser = new RequestParser(requestSink, 16_384);
  const parse = (): RequestParser => {
    parser.next();
    parser.execute(bytes, 0);
    return parser;
  };
  time(`request ${name}: parse`, () => parse().rawHeaders.length);
  for (const mode of ["passthrough", "rebuild"] as const) {
    const upstream = (): string => {
      const parsed = parse();
      const req = new ClientRequest(
        { bodyWanted() {} },
        socket as never,
        parsed.method,
        parsed.url,
        1,
        1,
        parsed.rawHeaders,
        mode === "passthrough" ? parsed.fieldText : undefined,
      ) as unknown as IncomingMessage;
      const head = scanRequestHead(req, policy, "id-1", false, undefined);
      return upstreamHead(
        {
          method: "GET",
          path: "/",
          fields: head.fields,
          headers: head.headers,
          body: null,
          chunked: false,
        },
        false,
      );
    };
    // The socket copies the head into its write buffer, flattening the string on the way.
    time(`request ${name}: parse, scan, head, copy (${mode})`, () =>
      scratch.write(upstream(), 0, "latin1"),
    );
  }
}

class CountingOwner implements ResponseOwner {
  bytes = 0;
  readonly destroyed = false;
  send(head: string, body: Buffer | undefined): boolean {
    // As the connection does: the head and a small body copied into one buffer.
    const at = scratch.write(head, 0, "latin1");
    this.bytes += at + (body === undefined ? 0 : body.copy(scratch, at));
    return true;
  }
  responseEnded(): void {}
  destroy(): void {}
}
const owner = new CountingOwner();
const request = new ClientRequest({ bodyWanted() {} }, socket as never, "GET", "/", 1, 1, [], "");
class Relay implements ResponseSink {
  response = new ClientResponse(owner, request, true);
  passthrough = true;
  onResponseHead(
    status: number,
    reason: string,
    headers: string[],
    fields: ResponseFields | undefined,
  ): boolean {
    this.response = new ClientResponse(owner, request, true);
    if (this.passthrough && fields !== undefined) {
      this.response.writeHeadLines(status, reason, fields);
    } else this.response.writeHead(status, reason, headers);
    return true;
  }
  onResponseData(chunk: Buffer, last: boolean): void {
    if (last) this.response.end(chunk);
  }
  onResponseEnd(): void {}
}
const relay = new Relay();
const responseParser = new ResponseParser(relay, 16_384);
for (const mode of ["passthrough", "rebuild"] as const) {
  relay.passthrough = mode === "passthrough";
  time(`response: parse, client head and body, copy (${mode})`, () => {
    responseParser.reset(false);
    responseParser.execute(RESPONSE);
    return owner.bytes;
  });
}
