import assert from "node:assert/strict";
import { type IncomingHttpHeaders, request } from "node:http";
import { after, before, describe, it } from "node:test";
import { configSchema } from "../../src/config/schema/index.js";
import { redirectLocation } from "../../src/http/redirect.js";
import { BackendState } from "../../src/pool/backend.js";
import { Runtime } from "../../src/runtime/runtime.js";

interface Reply {
  status: number;
  headers: IncomingHttpHeaders;
  body: string;
}

function send(port: number, method: string, path: string): Promise<Reply> {
  return new Promise((resolve, reject) => {
    const req = request({ host: "127.0.0.1", port, method, path, agent: false }, (res) => {
      let body = "";
      res.setEncoding("utf8");
      res.on("data", (chunk: string) => {
        body += chunk;
      });
      res.on("end", () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body }));
    });
    req.setTimeout(5000, () => req.destroy(new Error("request timed out")));
    req.on("error", reject);
    req.end(method === "POST" ? "payload" : undefined);
  });
}

describe("HTTP-redirect balancing through the listener", () => {
  let runtime: Runtime;
  let port: number;

  before(async () => {
    // The backends are never contacted in redirect mode: unreachable ports prove it.
    const config = configSchema.parse({
      log: { level: "silent" },
      listeners: [
        {
          name: "front",
          protocol: "http",
          bind: "127.0.0.1:0",
          access_log: false,
          routes: [
            { match: { path_prefix: "/temp/" }, pool: "web", redirect: { status: 307 } },
            { match: { path_prefix: "/plain/" }, pool: "plain", redirect: { status: 302 } },
            { match: { path_prefix: "/" }, pool: "web", redirect: { status: 302 } },
          ],
        },
      ],
      pools: {
        web: {
          algorithm: "wrr",
          backends: [
            {
              name: "a",
              address: "127.0.0.1:1",
              weight: 3,
              redirect_url: "http://a.example.test:8001/",
            },
            {
              name: "b",
              address: "127.0.0.1:2",
              weight: 1,
              redirect_url: "https://b.example.test/base",
            },
          ],
        },
        plain: { backends: [{ address: "127.0.0.1:3" }] },
      },
    });
    runtime = new Runtime(config);
    await runtime.start();
    port = runtime.listeners.get("front")!.address().port;
  });

  after(async () => {
    await runtime?.stop({ graceful: false });
  });

  it("answers 302 with Location on the chosen backend, spread by the pool's weights", async () => {
    const counts = new Map<string, number>();
    for (let i = 0; i < 40; i++) {
      const reply = await send(port, "GET", `/app/page?id=${i}&x=y`);
      assert.equal(reply.status, 302);
      assert.equal(reply.headers["cache-control"], "no-store");
      const location = reply.headers.location ?? "";
      const base = location.startsWith("http://a.example.test:8001/")
        ? "a"
        : location.startsWith("https://b.example.test/base/")
          ? "b"
          : "?";
      assert.notEqual(base, "?", `unexpected Location ${location}`);
      assert.ok(location.endsWith(`/app/page?id=${i}&x=y`), location);
      assert.ok(reply.body.length > 0 && reply.body.length < 200);
      counts.set(base, (counts.get(base) ?? 0) + 1);
    }
    // Smooth weighted round robin over weights 3:1 gives exactly 30 and 10 in 40 picks.
    assert.deepEqual(Object.fromEntries(counts), { a: 30, b: 10 });
  });

  it("answers 307 on a route that says so, keeping method-preserving semantics for POST", async () => {
    const reply = await send(port, "POST", "/temp/upload?part=2");
    assert.equal(reply.status, 307);
    assert.match(
      reply.headers.location ?? "",
      /^(http:\/\/a\.example\.test:8001|https:\/\/b\.example\.test\/base)\/temp\/upload\?part=2$/,
    );
    assert.equal(reply.headers["cache-control"], "no-store");
  });

  it("points at http://host:port when a backend has no redirect_url", async () => {
    const reply = await send(port, "GET", "/plain/x");
    assert.equal(reply.status, 302);
    assert.equal(reply.headers.location, "http://127.0.0.1:3/plain/x");
  });

  it("sends no body to HEAD", async () => {
    const reply = await send(port, "HEAD", "/plain/x");
    assert.equal(reply.status, 302);
    assert.equal(reply.body, "");
  });
});

describe("redirectLocation", () => {
  const withUrl = new BackendState({
    host: "10.0.0.1",
    port: 80,
    redirectUrl: "https://app.example.test/prefix/",
  });
  const v6 = new BackendState({ host: "::1", port: 8080 });

  it("joins the backend's URL and the request's path and query with one slash", () => {
    assert.equal(redirectLocation(withUrl, "/a?b=1"), "https://app.example.test/prefix/a?b=1");
    assert.equal(redirectLocation(v6, "/a"), "http://[::1]:8080/a");
  });

  it("reduces absolute-form and asterisk targets to a path", () => {
    assert.equal(redirectLocation(v6, "http://front.test/x/y?z=1"), "http://[::1]:8080/x/y?z=1");
    assert.equal(redirectLocation(v6, "http://front.test?z=1"), "http://[::1]:8080/?z=1");
    assert.equal(redirectLocation(v6, "http://front.test"), "http://[::1]:8080/");
    assert.equal(redirectLocation(v6, "*"), "http://[::1]:8080/");
    assert.equal(redirectLocation(v6, undefined), "http://[::1]:8080/");
  });
});
