/** Routing by host (exact, wildcard), path (exact, prefix), header and method; 404 and 421. */
import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import {
  backendsOf,
  fetchText,
  startBackend,
  startProxy,
  type TestBackend,
  type TestProxy,
} from "./helpers.js";

describe("http routing", () => {
  const names = ["api", "wild", "static", "exact", "hdr", "post", "fallback"];
  let backends: TestBackend[];
  let proxy: TestProxy;

  before(async () => {
    backends = await Promise.all(names.map((name) => startBackend(name)));
    const pools = Object.fromEntries(backends.map((b) => [b.name, { backends: backendsOf([b]) }]));
    proxy = await startProxy(
      {
        routes: [
          { match: { host: "api.example.com", path: "/exact" }, pool: "exact" },
          { match: { host: "api.example.com", headers: { "x-canary": "yes" } }, pool: "hdr" },
          { match: { host: "api.example.com", methods: ["POST"] }, pool: "post" },
          { match: { host: "api.example.com", path_prefix: "/static/" }, pool: "static" },
          { match: { host: "api.example.com", path_prefix: "/v1" }, pool: "api" },
          { match: { host: "*.example.org" }, pool: "wild" },
          { match: { host: "ops.example.com" }, respond: { status: 200, body: "maintenance" } },
        ],
      },
      pools,
    );
  });

  after(async () => {
    await proxy.close();
    await Promise.all(backends.map((b) => b.close()));
  });

  const cases: [string, string, string, Record<string, string>, number, string][] = [
    ["exact path", "GET", "/exact", { host: "api.example.com" }, 200, "exact"],
    ["exact path is not a prefix", "GET", "/exact/more", { host: "api.example.com" }, 404, ""],
    ["prefix", "GET", "/v1/users?id=3", { host: "api.example.com" }, 200, "api"],
    ["host with port and case", "GET", "/v1", { host: "API.Example.com:8080" }, 200, "api"],
    ["second prefix", "GET", "/static/app.js", { host: "api.example.com" }, 200, "static"],
    ["header", "GET", "/anything", { host: "api.example.com", "x-canary": "yes" }, 200, "hdr"],
    [
      "header value differs",
      "GET",
      "/anything",
      { host: "api.example.com", "x-canary": "no" },
      404,
      "",
    ],
    ["method", "POST", "/anything", { host: "api.example.com" }, 200, "post"],
    ["wildcard", "GET", "/", { host: "a.example.org" }, 200, "wild"],
    ["wildcard, deeper", "GET", "/", { host: "a.b.example.org" }, 200, "wild"],
    ["wildcard does not take the apex", "GET", "/", { host: "example.org" }, 421, ""],
    ["unknown host", "GET", "/", { host: "other.net" }, 421, ""],
    ["fixed answer", "GET", "/", { host: "ops.example.com" }, 200, "maintenance"],
  ];
  for (const [label, method, path, headers, status, body] of cases) {
    it(`${label}: ${method} ${headers.host}${path} → ${status} ${body}`, async () => {
      const reply = await fetchText(proxy.port, path, { method, headers });
      assert.equal(reply.status, status);
      if (body) assert.equal(reply.body, body);
      if (status >= 400) assert.match(String(reply.headers["x-request-id"]), /.+-.+/);
    });
  }

  it("sends unmatched requests to default_pool when there is one", async () => {
    const fallback = backends.find((b) => b.name === "fallback")!;
    const withDefault = await startProxy(
      {
        routes: [{ match: { host: "api.example.com" }, pool: "api" }],
        default_pool: "fallback",
      },
      {
        api: { backends: backendsOf([backends[0]]) },
        fallback: { backends: backendsOf([fallback]) },
      },
    );
    try {
      assert.equal(
        (await fetchText(withDefault.port, "/", { headers: { host: "x.net" } })).body,
        "fallback",
      );
      assert.equal(
        (await fetchText(withDefault.port, "/", { headers: { host: "api.example.com" } })).body,
        "api",
      );
    } finally {
      await withDefault.close();
    }
  });

  it("answers 404 when no route matches and no route names a host", async () => {
    const pathOnly = await startProxy(
      { routes: [{ match: { path_prefix: "/api" }, pool: "api" }] },
      { api: { backends: backendsOf([backends[0]]) } },
    );
    try {
      assert.equal((await fetchText(pathOnly.port, "/other")).status, 404);
      assert.equal((await fetchText(pathOnly.port, "/api/x")).body, "api");
    } finally {
      await pathOnly.close();
    }
  });
});
