/**
 * A hostile backend's answers through the upstream response parser: each is either passed to
 * the client well framed (node's strict client reads it, and then a second request on the
 * same client connection) or turned into a 502/504; a backend connection whose framing was
 * in doubt is never used for another request, and no lease is left behind.
 */
import assert from "node:assert/strict";
import { once } from "node:events";
import { Agent, request } from "node:http";
import { type AddressInfo, createServer, type Server, type Socket } from "node:net";
import { after, before, describe, it } from "node:test";
import { waitFor } from "../support/wait.js";
import { startProxy, type TestProxy } from "./helpers.js";

interface ResponseCase {
  name: string;
  /** What the backend writes for the request. */
  bytes: string;
  /** What the client must get: a status and, for a 2xx, the body. */
  status: number;
  body?: string;
  method?: string;
  /** The backend closes its side after the bytes. */
  close?: boolean;
}

const OK = (body: string, extra = "") =>
  `HTTP/1.1 200 OK\r\n${extra}Content-Length: ${body.length}\r\n\r\n${body}`;

const CASES: ResponseCase[] = [
  { name: "plain", bytes: OK("hello"), status: 200, body: "hello" },
  {
    name: "duplicate equal CL",
    bytes: OK("hello", "Content-Length: 5\r\n"),
    status: 200,
    body: "hello",
  },
  { name: "duplicate different CL", bytes: OK("hello", "Content-Length: 50\r\n"), status: 502 },
  { name: "CL list", bytes: "HTTP/1.1 200 OK\r\nContent-Length: 5, 5\r\n\r\nhello", status: 502 },
  { name: "CL signed", bytes: "HTTP/1.1 200 OK\r\nContent-Length: +5\r\n\r\nhello", status: 502 },
  {
    name: "CL and TE",
    bytes:
      "HTTP/1.1 200 OK\r\nContent-Length: 3\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhello\r\n0\r\n\r\n",
    status: 502,
  },
  {
    name: "TE gzip, chunked",
    bytes: "HTTP/1.1 200 OK\r\nTransfer-Encoding: gzip, chunked\r\n\r\n5\r\nhello\r\n0\r\n\r\n",
    status: 502,
  },
  {
    name: "TE chunked in HTTP/1.0 with keep-alive",
    bytes:
      "HTTP/1.0 200 OK\r\nConnection: keep-alive\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhello\r\n0\r\n\r\n",
    status: 502,
  },
  {
    name: "chunked",
    bytes: "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhello\r\n0\r\n\r\n",
    status: 200,
    body: "hello",
  },
  {
    name: "chunk size overflow",
    bytes:
      "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n10000000000000005\r\nhello\r\n0\r\n\r\n",
    status: 502,
  },
  {
    name: "chunk size 0x",
    bytes: "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n0x5\r\nhello\r\n0\r\n\r\n",
    status: 502,
  },
  {
    name: "chunk size bare LF",
    bytes: "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n5\nhello\r\n0\r\n\r\n",
    status: 502,
  },
  {
    name: "chunk data longer than size",
    bytes: "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nhello\r\n0\r\n\r\n",
    // The head and the first bytes were passed on already: the client's response is cut.
    status: -1,
  },
  {
    name: "1xx flood then 200",
    bytes: `${"HTTP/1.1 100 Continue\r\n\r\n".repeat(2000)}${"HTTP/1.1 103 Early Hints\r\nLink: </a>\r\n\r\n".repeat(100)}${OK("hello")}`,
    status: 200,
    body: "hello",
  },
  {
    name: "1xx with a body",
    bytes: `HTTP/1.1 100 Continue\r\nContent-Length: 5\r\n\r\nhello${OK("hello")}`,
    status: 502,
  },
  { name: "101 without Upgrade", bytes: "HTTP/1.1 101 Switching Protocols\r\n\r\n", status: 502 },
  {
    name: "101 with Upgrade to a plain request",
    bytes: "HTTP/1.1 101 Switching Protocols\r\nConnection: upgrade\r\nUpgrade: websocket\r\n\r\n",
    status: 502,
  },
  {
    name: "huge header",
    bytes: `HTTP/1.1 200 OK\r\nX-Big: ${"b".repeat(40_000)}\r\nContent-Length: 2\r\n\r\nok`,
    status: 502,
  },
  {
    name: "many headers under the size",
    bytes: `HTTP/1.1 200 OK\r\n${"X-A: 1\r\n".repeat(1000)}Content-Length: 2\r\n\r\nok`,
    status: 200,
    body: "ok",
  },
  {
    name: "body after 204",
    bytes: "HTTP/1.1 204 No Content\r\nContent-Length: 5\r\n\r\nhello",
    status: 204,
  },
  {
    name: "body after 304",
    bytes: "HTTP/1.1 304 Not Modified\r\nContent-Length: 5\r\n\r\nhello",
    status: 304,
  },
  {
    name: "HEAD answered with a body",
    bytes: OK("hello"),
    method: "HEAD",
    status: 200,
    body: "",
  },
  {
    name: "bytes after a complete response",
    bytes: `${OK("hello")}HTTP/1.1 200 OK\r\nContent-Length: 4\r\n\r\nevil`,
    status: 200,
    body: "hello",
  },
  { name: "status line garbage", bytes: "ICY 200 OK\r\n\r\n", status: 502 },
  { name: "HTTP/2 status line", bytes: "HTTP/2 200\r\n\r\n", status: 502 },
  { name: "two-digit status", bytes: "HTTP/1.1 20 OK\r\nContent-Length: 0\r\n\r\n", status: 502 },
  {
    name: "bare LF head",
    bytes: "HTTP/1.1 200 OK\nContent-Length: 2\n\nok",
    status: 502,
    close: true,
  },
  {
    name: "obs-fold",
    bytes: "HTTP/1.1 200 OK\r\nX: a\r\n b\r\nContent-Length: 2\r\n\r\nok",
    status: 502,
  },
  {
    name: "space before colon",
    bytes: "HTTP/1.1 200 OK\r\nContent-Length : 2\r\n\r\nok",
    status: 502,
  },
  {
    name: "NUL in a value",
    bytes: "HTTP/1.1 200 OK\r\nX: a\x00b\r\nContent-Length: 2\r\n\r\nok",
    status: 502,
  },
  { name: "CR in reason", bytes: "HTTP/1.1 200 O\rK\r\nContent-Length: 2\r\n\r\nok", status: 502 },
  {
    name: "close before the end of a sized body",
    bytes: "HTTP/1.1 200 OK\r\nContent-Length: 10\r\n\r\nhello",
    status: -1,
    close: true,
  },
  {
    name: "close-delimited body",
    bytes: "HTTP/1.1 200 OK\r\n\r\nhello",
    status: 200,
    body: "hello",
    close: true,
  },
  {
    name: "Connection naming Content-Length",
    bytes: "HTTP/1.1 200 OK\r\nConnection: content-length\r\nContent-Length: 5\r\n\r\nhello",
    status: 200,
    body: "hello",
  },
];

describe("hostile backend responses reach the client well framed", () => {
  let backend: Server;
  let proxy: TestProxy;
  /** Requests that arrived on a backend connection after a hostile answer on it. */
  const reusedAfterHostile: string[] = [];

  before(async () => {
    backend = createServer((socket: Socket) => {
      let text = "";
      let hostile: string | undefined;
      socket.on("error", () => {});
      socket.on("data", (chunk: Buffer) => {
        text += chunk.toString("latin1");
        for (let end = text.indexOf("\r\n\r\n"); end >= 0; end = text.indexOf("\r\n\r\n")) {
          const path = text.slice(0, end).split(" ")[1];
          text = text.slice(end + 4);
          if (hostile !== undefined) reusedAfterHostile.push(`${path} after ${hostile}`);
          const index = path.startsWith("/r/") ? Number(path.slice(3)) : -1;
          if (index < 0) {
            socket.write(OK("ok"));
            continue;
          }
          const c = CASES[index];
          hostile = c.name;
          socket.write(Buffer.from(c.bytes, "latin1"));
          if (c.close) socket.end();
        }
      });
    });
    backend.listen(0, "127.0.0.1");
    await once(backend, "listening");
    proxy = await startProxy(
      { default_pool: "p", timeouts: { response: 2000 } },
      {
        p: {
          backends: [
            { address: `127.0.0.1:${(backend.address() as AddressInfo).port}`, name: "b" },
          ],
          passive: { max_fails: 0 },
        },
      },
    );
  });

  after(async () => {
    await proxy?.close();
    backend?.close();
  });

  /** One request through `agent`: status and body, or -1 when the response was cut off. */
  function send(
    agent: Agent,
    path: string,
    method = "GET",
  ): Promise<{ status: number; body: string; length?: string }> {
    return new Promise((resolve) => {
      const req = request({ host: "127.0.0.1", port: proxy.port, path, method, agent }, (res) => {
        let body = "";
        res.setEncoding("latin1");
        res.on("data", (chunk: string) => {
          body += chunk;
        });
        res.on("end", () => {
          const length = res.headers["content-length"];
          resolve(
            length === undefined
              ? { status: res.statusCode ?? 0, body }
              : { status: res.statusCode ?? 0, body, length },
          );
        });
        res.on("error", () => resolve({ status: -1, body }));
        res.on("aborted", () => resolve({ status: -1, body }));
      });
      req.on("error", () => resolve({ status: -1, body: "" }));
      req.end();
    });
  }

  for (const [index, c] of CASES.entries()) {
    it(`${c.name}: ${c.status < 0 ? "cut off" : c.status}, and the client connection stays sound`, async () => {
      // One client connection for both requests (node's strict parser reads them).
      const agent = new Agent({ keepAlive: true, maxSockets: 1 });
      try {
        const first = await send(agent, `/r/${index}`, c.method);
        if (c.status === 204) assert.equal(first.length, undefined, "no Content-Length on a 204");
        assert.equal(first.status, c.status, JSON.stringify(first));
        if (c.body !== undefined) assert.equal(first.body, c.body);
        if (c.status === 502) assert.match(first.body, /^502 Bad Gateway\nrequest id: /);
        const second = await send(agent, "/ok");
        assert.deepEqual(second, { status: 200, body: "ok", length: "2" });
      } finally {
        agent.destroy();
      }
    });
  }

  it("no backend connection was used again after a hostile answer; no lease left", async () => {
    // Only the well-framed answers (a plain one) may leave their connection reusable.
    const allowed = new Set([
      "plain",
      "duplicate equal CL",
      "chunked",
      "1xx flood then 200",
      "many headers under the size",
      "Connection naming Content-Length",
    ]);
    assert.deepEqual(
      reusedAfterHostile.filter((entry) => !allowed.has(entry.split(" after ")[1])),
      [],
    );
    const state = proxy.pools.get("p")!.backends[0];
    await waitFor("every lease released", () => state.active + state.inactive === 0);
  });
});
