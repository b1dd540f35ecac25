/**
 * Fields go on as the bytes they arrived in (ballast's own server), the client's upstream and
 * the backend's back to the client: names' case and order kept, only what the proxy must
 * change rewritten or dropped, and the result byte for byte what the field-by-field rebuild
 * sends.
 */
import assert from "node:assert/strict";
import { once } from "node:events";
import { type AddressInfo, createServer, type Server, type Socket } from "node:net";
import { after, before, describe, it } from "node:test";
import {
  exchangeUntilOk,
  rawExchange,
  startProxy,
  startRawHeadBackend,
  type TestProxy,
} from "./helpers.js";

/** What ballast adds after the client's fields, for a client on 127.0.0.1 and `host`. */
function added(host: string): string {
  return (
    "x-forwarded-for: 127.0.0.1\r\nx-forwarded-proto: http\r\nx-real-ip: 127.0.0.1\r\n" +
    `x-forwarded-host: ${host}\r\nx-request-id: [^\\r\\n]+\r\n`
  );
}

function literally(text: string): string {
  return text.replace(/[.*+?^${}()|[\]\\/]/g, "\\$&");
}

describe("http request head passthrough", () => {
  let backend: Awaited<ReturnType<typeof startRawHeadBackend>>;
  let proxy: TestProxy;
  const upstreamHeadOf = async (request: string): Promise<string> => {
    const before = backend.heads.length;
    const reply = await exchangeUntilOk(proxy.port, request);
    assert.match(reply, /^HTTP\/1\.1 200 /);
    assert.equal(backend.heads.length, before + 1);
    return backend.heads[before];
  };

  before(async () => {
    backend = await startRawHeadBackend();
    proxy = await startProxy(
      { default_pool: "p", forwarded: { trusted_proxies: ["10.0.0.0/8"] } },
      { p: { backends: [{ address: `127.0.0.1:${backend.port}` }] } },
    );
  });

  after(async () => {
    await proxy.close();
    backend.server.close();
  });

  it("passes the client's field lines on as they arrived, names' case and order kept", async () => {
    const fields =
      "Host: shop.example\r\nX-MiXed-CASE: a  b, c\r\naccept: */*\r\nCookie: a=1; b=2\r\n" +
      "Content-Length: 5\r\nx-latin1: caf\xe9\r\n";
    const seen = await upstreamHeadOf(`POST /p?q=1 HTTP/1.1\r\n${fields}\r\nhello`);
    assert.match(
      seen,
      new RegExp(
        `^POST /p\\?q=1 HTTP/1\\.1\r\n${literally(fields)}${added("shop.example")}\r\nhello$`,
      ),
    );
  });

  it("drops hop-by-hop lines and forged forwarding fields from the bytes passed on", async () => {
    const seen = await upstreamHeadOf(
      "GET /p HTTP/1.1\r\nHost: shop.example\r\nX-A: 1\r\nConnection: keep-alive\r\n" +
        "Keep-Alive: timeout=5\r\nTE: trailers\r\nX-B: 2\r\nProxy-Connection: keep-alive\r\n" +
        "X-Forwarded-For: 6.6.6.6\r\nX-Real-IP: 6.6.6.6\r\nX-Forwarded-Host: evil\r\n" +
        "X-Forwarded-Proto: https\r\nX-Request-Id: forged\r\nUpgrade: h2c\r\nX_Under: u\r\n" +
        "Forwarded: for=6.6.6.6;host=evil\r\n" +
        "Trailer: X-T\r\nX-C: 3\r\n\r\n",
    );
    assert.match(
      seen,
      new RegExp(
        `^GET /p HTTP/1\\.1\r\nHost: shop\\.example\r\nX-A: 1\r\nX-B: 2\r\nX-C: 3\r\n${added("shop.example")}\r\n$`,
      ),
    );
    assert.doesNotMatch(seen, /forged|6\.6\.6\.6|evil/);
  });

  it("drops the fields Connection names wherever they are, before or after it", async () => {
    const seen = await upstreamHeadOf(
      "GET /p HTTP/1.1\r\nX-Before: gone\r\nHost: shop.example\r\nX-Keep: 1\r\n" +
        "Connection: X-Before, x-after\r\nX-After: gone\r\nX-Kept-Too: 2\r\n\r\n",
    );
    assert.match(
      seen,
      new RegExp(
        `^GET /p HTTP/1\\.1\r\nHost: shop\\.example\r\nX-Keep: 1\r\nX-Kept-Too: 2\r\n${added("shop.example")}\r\n$`,
      ),
    );
  });

  it("sends fields with other whitespace around their values as name: value", async () => {
    const seen = await upstreamHeadOf(
      "GET /p HTTP/1.1\r\nHost: shop.example\r\nX-Pad:   v  \r\nX-Tab:\tw\t\r\nX-Tight:t\r\n" +
        "X-Empty:\r\n\r\n",
    );
    assert.match(
      seen,
      new RegExp(
        `^GET /p HTTP/1\\.1\r\nHost: shop\\.example\r\nX-Pad: v\r\nX-Tab: w\r\nX-Tight: t\r\nX-Empty: \r\n${added("shop.example")}\r\n$`,
      ),
    );
  });

  it("rewrites Host in place for an absolute-form target", async () => {
    const seen = await upstreamHeadOf(
      "GET http://other.example/p HTTP/1.1\r\nX-A: 1\r\nHost: shop.example\r\nX-B: 2\r\n\r\n",
    );
    assert.match(
      seen,
      new RegExp(
        `^GET /p HTTP/1\\.1\r\nX-A: 1\r\nHost: other\\.example\r\nX-B: 2\r\n${added("other.example")}\r\n$`,
      ),
    );
  });

  it("still refuses smuggling attempts before anything reaches the backend", async () => {
    const attacks = [
      "POST /p HTTP/1.1\r\nHost: a\r\nContent-Length: 5\r\nContent-Length: 5\r\n\r\nhello",
      "POST /p HTTP/1.1\r\nHost: a\r\nContent-Length: 5\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n",
      "GET /p HTTP/1.1\r\nHost: a\r\nX-Fold: a\r\n b\r\n\r\n",
      "GET /p HTTP/1.1\r\nHost: a\r\nX-Space : a\r\n\r\n",
      "POST /p HTTP/1.1\r\nHost: a\r\nContent_Length: 5\r\nContent-Length: 5\r\n\r\nhello",
      "GET /p HTTP/1.1\r\nHost: a\r\nHost: b\r\n\r\n",
      "GET /p HTTP/1.1\r\nHost: a\nX-Bare: lf\r\n\r\n",
    ];
    const before = backend.heads.length;
    for (const attack of attacks) {
      const reply = await rawExchange(proxy.port, attack);
      assert.match(reply, /^HTTP\/1\.1 400 /, JSON.stringify(attack));
    }
    assert.equal(backend.heads.length, before);
  });
});

describe("http response head passthrough", () => {
  let server: Server;
  let proxy: TestProxy;
  /** The response head each path answers with (the body is "ok"). */
  const answers: Record<string, string> = {
    "/plain":
      "HTTP/1.1 200 OK\r\nServer: Raw\r\nX-MiXed-CASE: a  b\r\nDate: Tue, 01 Dec 2026 18:00:00 GMT\r\n" +
      "Content-Length: 2\r\nSet-Cookie: a=1\r\nSet-Cookie: b=2\r\n\r\n",
    "/hop":
      "HTTP/1.1 200 OK\r\nX-A: 1\r\nConnection: keep-alive\r\nKeep-Alive: timeout=5\r\nX-B: 2\r\n" +
      "Proxy-Connection: x\r\nTrailer: X-T\r\nUpgrade: h2c\r\nContent-Length: 2\r\nX-C: 3\r\n\r\n",
    "/named":
      "HTTP/1.1 200 OK\r\nX-Before: gone\r\nX-A: 1\r\nConnection: x-before, X-After\r\n" +
      "X-After: gone\r\nContent-Length: 2\r\n\r\n",
    "/spaces": "HTTP/1.1 200 OK\r\nX-Pad:   v  \r\nX-Tight:t\r\nContent-Length: 2\r\n\r\n",
    "/no-reason": "HTTP/1.1 200 \r\nX-A: 1\r\nContent-Length: 2\r\n\r\n",
  };

  before(async () => {
    server = createServer((socket: Socket) => {
      let buffered = "";
      socket.on("data", (chunk: Buffer) => {
        buffered += chunk.toString("latin1");
        for (let end = buffered.indexOf("\r\n\r\n"); end >= 0; end = buffered.indexOf("\r\n\r\n")) {
          const path = buffered.split(" ")[1];
          buffered = buffered.slice(end + 4);
          socket.write(`${answers[path]}ok`, "latin1");
        }
      });
      socket.on("error", () => {});
    });
    server.listen(0, "127.0.0.1");
    await once(server, "listening");
    const port = (server.address() as AddressInfo).port;
    proxy = await startProxy(
      { default_pool: "p" },
      { p: { backends: [{ address: `127.0.0.1:${port}` }] } },
    );
  });

  after(async () => {
    await proxy.close();
    server.close();
  });

  /** The head the client gets for `path`: the answer with its body, `ok`, cut off. */
  const headFor = async (path: string): Promise<string> => {
    const reply = await exchangeUntilOk(proxy.port, `GET ${path} HTTP/1.1\r\nHost: a\r\n\r\n`);
    assert.match(reply, /\r\n\r\nok$/);
    return reply.slice(0, -2);
  };

  it("passes the backend's field lines on as they arrived, names' case and order kept", async () => {
    assert.equal(await headFor("/plain"), answers["/plain"]);
  });

  it("drops hop-by-hop lines from the bytes passed on and adds its own Date", async () => {
    assert.match(
      await headFor("/hop"),
      /^HTTP\/1\.1 200 OK\r\nX-A: 1\r\nX-B: 2\r\nContent-Length: 2\r\nX-C: 3\r\ndate: [^\r]+GMT\r\n\r\n$/,
    );
  });

  it("drops the fields Connection names wherever they are", async () => {
    assert.match(
      await headFor("/named"),
      /^HTTP\/1\.1 200 OK\r\nX-A: 1\r\nContent-Length: 2\r\ndate: [^\r]+GMT\r\n\r\n$/,
    );
  });

  it("sends fields with other whitespace around their values as name: value", async () => {
    assert.match(
      await headFor("/spaces"),
      /^HTTP\/1\.1 200 OK\r\nX-Pad: v\r\nX-Tight: t\r\nContent-Length: 2\r\ndate: [^\r]+GMT\r\n\r\n$/,
    );
  });

  it("gives an empty reason phrase the standard one", async () => {
    assert.match(
      await headFor("/no-reason"),
      /^HTTP\/1\.1 200 OK\r\nX-A: 1\r\nContent-Length: 2\r\ndate: [^\r]+GMT\r\n\r\n$/,
    );
  });
});
