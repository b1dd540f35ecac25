/** HEAD, 204 and 304 answers carry no body; `Expect: 100-continue` is answered by the proxy. */
import assert from "node:assert/strict";
import { Agent, request } from "node:http";
import { after, before, describe, it } from "node:test";
import {
  backendsOf,
  fetchText,
  rawExchange,
  startBackend,
  startProxy,
  type TestBackend,
  type TestProxy,
} from "./helpers.js";

describe("http bodyless responses and 100-continue", () => {
  let backend: TestBackend;
  let proxy: TestProxy;
  let lastBody = "";

  before(async () => {
    backend = await startBackend("b", (req, res) => {
      let body = "";
      req.setEncoding("utf8");
      req.on("data", (chunk: string) => {
        body += chunk;
      });
      req.on("end", () => {
        lastBody = body;
        if (req.url === "/204") {
          res.writeHead(204);
          res.end();
        } else if (req.url === "/304") {
          res.writeHead(304, { etag: '"v1"' });
          res.end();
        } else {
          res.writeHead(200, { "content-length": 11, "x-expect-seen": String(req.headers.expect) });
          res.end(req.method === "HEAD" ? undefined : "hello world");
        }
      });
    });
    proxy = await startProxy({ default_pool: "p" }, { p: { backends: backendsOf([backend]) } });
  });

  after(async () => {
    await proxy.close();
    await backend.close();
  });

  it("HEAD keeps Content-Length and sends no body; the connection stays usable", async () => {
    const agent = new Agent({ keepAlive: true, maxSockets: 1 });
    try {
      const head = await fetchText(proxy.port, "/", { method: "HEAD", agent });
      assert.equal(head.status, 200);
      assert.equal(head.headers["content-length"], "11");
      assert.equal(head.body, "");
      const get = await fetchText(proxy.port, "/", { agent });
      assert.equal(get.body, "hello world");
    } finally {
      agent.destroy();
    }
  });

  for (const status of [204, 304]) {
    it(`${status} has no body, and a request after it on the same connection works`, async () => {
      const bytes = await rawExchange(
        proxy.port,
        `GET /${status} HTTP/1.1\r\nHost: a\r\n\r\nGET / HTTP/1.1\r\nHost: a\r\nConnection: close\r\n\r\n`,
        false,
      );
      const [first, second] = bytes.split(/(?=HTTP\/1\.1 )/);
      assert.match(first, new RegExp(`^HTTP/1\\.1 ${status} `));
      assert.ok(first.endsWith("\r\n\r\n"), "no body after the head");
      assert.doesNotMatch(first, /transfer-encoding/i);
      assert.match(second, /^HTTP\/1\.1 200 [\s\S]*hello world$/);
    });
  }

  it("answers 100 Continue itself, then streams the body; the backend sees no Expect", async () => {
    const result = await new Promise<{ continued: boolean; status: number; expect: string }>(
      (resolve, reject) => {
        let continued = false;
        const req = request({
          host: "127.0.0.1",
          port: proxy.port,
          path: "/upload",
          method: "POST",
          agent: false,
          headers: { expect: "100-continue", "content-length": 7 },
        });
        req.on("continue", () => {
          continued = true;
          req.end("payload");
        });
        req.on("response", (res) => {
          res.resume();
          res.on("end", () =>
            resolve({
              continued,
              status: res.statusCode ?? 0,
              expect: String(res.headers["x-expect-seen"]),
            }),
          );
        });
        req.on("error", reject);
        req.flushHeaders();
      },
    );
    assert.equal(result.continued, true);
    assert.equal(result.status, 200);
    assert.equal(result.expect, "undefined");
    assert.equal(lastBody, "payload");
  });
});
