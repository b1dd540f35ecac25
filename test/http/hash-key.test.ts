import assert from "node:assert/strict";
import { createServer, type IncomingMessage, request } from "node:http";
import type { AddressInfo } from "node:net";
import { after, before, describe, it } from "node:test";
import { configSchema } from "../../src/config/schema/index.js";
import type { HashKeyConfig } from "../../src/config/schema/pool.js";
import { hashKeyOf, queryParameter } from "../../src/http/hash-key.js";
import { Runtime } from "../../src/runtime/runtime.js";

/** A request as the parser leaves it: target, raw header list and the peer's address. */
function fakeRequest(
  url: string,
  rawHeaders: string[] = [],
  remoteAddress = "192.0.2.7",
  remotePort = 40123,
): IncomingMessage {
  return { url, rawHeaders, socket: { remoteAddress, remotePort } } as unknown as IncomingMessage;
}

describe("hashKeyOf", () => {
  it("client_ip is the peer address, IPv4-mapped IPv6 written as IPv4", () => {
    assert.equal(hashKeyOf(fakeRequest("/"), "client_ip"), "192.0.2.7");
    assert.equal(hashKeyOf(fakeRequest("/", [], "::ffff:10.1.2.3"), "client_ip"), "10.1.2.3");
    assert.equal(hashKeyOf(fakeRequest("/", [], "2001:db8::1"), "client_ip"), "2001:db8::1");
  });

  it("client_ip_port adds the port, IPv6 in brackets", () => {
    assert.equal(hashKeyOf(fakeRequest("/"), "client_ip_port"), "192.0.2.7:40123");
    assert.equal(hashKeyOf(fakeRequest("/", [], "::1", 5000), "client_ip_port"), "[::1]:5000");
  });

  it("url is the whole target, path drops the query", () => {
    const req = fakeRequest("/a/b?x=1&y=2");
    assert.equal(hashKeyOf(req, "url"), "/a/b?x=1&y=2");
    assert.equal(hashKeyOf(req, "path"), "/a/b");
    assert.equal(hashKeyOf(fakeRequest("/plain"), "path"), "/plain");
  });

  it("host is the Host header's name, lower case, without port", () => {
    const key = (host: string) => hashKeyOf(fakeRequest("/", ["Host", host]), "host");
    assert.equal(key("API.Example.com:8080"), "api.example.com");
    assert.equal(key("example.com"), "example.com");
    assert.equal(key("[2001:DB8::1]:443"), "[2001:db8::1]");
    assert.equal(hashKeyOf(fakeRequest("/"), "host"), undefined);
  });

  it("a header is matched in any case; absent or empty gives no key", () => {
    const req = fakeRequest("/", ["Host", "h", "X-Tenant", "acme", "x-empty", ""]);
    assert.equal(hashKeyOf(req, { header: "x-tenant" }), "acme");
    assert.equal(hashKeyOf(req, { header: "X-TENANT" }), "acme");
    assert.equal(hashKeyOf(req, { header: "x-missing" }), undefined);
    assert.equal(hashKeyOf(req, { header: "x-empty" }), undefined);
    // Same length, different name: must not match.
    assert.equal(hashKeyOf(req, { header: "x-tenanz" }), undefined);
  });

  it("a cookie is found among others and across several Cookie headers", () => {
    const req = fakeRequest("/", [
      "Cookie",
      "theme=dark; xsid=wrong; sid=abc123",
      "cookie",
      'lang=en; uid="quoted"',
    ]);
    const cookie = (name: string) => hashKeyOf(req, { cookie: name } as HashKeyConfig);
    assert.equal(cookie("sid"), "abc123");
    assert.equal(cookie("theme"), "dark");
    assert.equal(cookie("lang"), "en");
    assert.equal(cookie("uid"), "quoted");
    assert.equal(cookie("missing"), undefined);
    assert.equal(cookie("si"), undefined);
  });

  it("a cookie that is absent, empty or only a substring of another gives no key", () => {
    assert.equal(hashKeyOf(fakeRequest("/"), { cookie: "sid" }), undefined);
    const req = fakeRequest("/", ["Cookie", "a=sid=1; sidx=2; sid=; b=3"]);
    assert.equal(hashKeyOf(req, { cookie: "sid" }), undefined);
  });

  it("a query parameter is exact, first wins, and is percent-decoded", () => {
    const key = (url: string, name: string) => hashKeyOf(fakeRequest(url), { query: name });
    assert.equal(key("/p?user=42&x=1", "user"), "42");
    assert.equal(key("/p?x=1&user=42", "user"), "42");
    assert.equal(key("/p?x=1&user=a&user=b", "user"), "a");
    assert.equal(key("/p?xuser=1&user=2", "user"), "2");
    assert.equal(key("/p?user=J%C3%BCrgen+M", "user"), "Jürgen M");
    assert.equal(key("/p?user=%zz", "user"), "%zz");
    assert.equal(key("/p?x=user=3", "user"), undefined);
    assert.equal(key("/p?user=", "user"), undefined);
    assert.equal(key("/p?user", "user"), undefined);
    assert.equal(key("/p", "user"), undefined);
    assert.equal(key("/user=1", "user"), undefined);
    assert.equal(queryParameter("/p?user=1#frag", "user"), "1");
    assert.equal(queryParameter("/p?a=1#user=1", "user"), undefined);
  });

  it("reads every key kind from a real request on loopback", async () => {
    const keys: (string | undefined)[] = [];
    const server = createServer((req, res) => {
      keys.push(hashKeyOf(req, "client_ip"), hashKeyOf(req, { header: "x-key" }));
      keys.push(hashKeyOf(req, { cookie: "c" }), hashKeyOf(req, { query: "q" }));
      res.end();
    });
    await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
    try {
      const { port } = server.address() as AddressInfo;
      await new Promise<void>((resolve, reject) => {
        const req = request(
          { host: "127.0.0.1", port, path: "/x?q=9", headers: { "X-Key": "k", Cookie: "c=v" } },
          (res) => res.resume().on("end", resolve),
        );
        req.on("error", reject).end();
      });
    } finally {
      server.close();
    }
    assert.deepEqual(keys, ["127.0.0.1", "k", "v", "9"]);
  });
});

function getBody(port: number, path: string, headers: Record<string, string> = {}) {
  return new Promise<string>((resolve, reject) => {
    const req = request({ host: "127.0.0.1", port, path, headers, agent: false }, (res) => {
      let body = "";
      res.setEncoding("utf8");
      res.on("data", (chunk: string) => {
        body += chunk;
      });
      res.on("end", () => resolve(body));
    });
    req.setTimeout(5000, () => req.destroy(new Error("request timed out")));
    req.on("error", reject).end();
  });
}

describe("hash keys through the proxy", () => {
  const servers = ["one", "two", "three"].map((name) => createServer((_req, res) => res.end(name)));
  let runtime: Runtime;
  let port: number;

  before(async () => {
    await Promise.all(
      servers.map(
        (server) => new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve)),
      ),
    );
    const backends = servers.map((server, i) => ({
      name: `b${i}`,
      address: `127.0.0.1:${(server.address() as AddressInfo).port}`,
    }));
    runtime = new Runtime(
      configSchema.parse({
        log: { level: "silent" },
        listeners: [
          {
            name: "web",
            protocol: "http",
            bind: "127.0.0.1:0",
            access_log: false,
            routes: [
              { match: { path_prefix: "/by-query" }, pool: "by_query" },
              { match: { path_prefix: "/by-header" }, pool: "by_header" },
            ],
          },
        ],
        pools: {
          by_query: { algorithm: "maglev", hash_key: { query: "user" }, backends },
          by_header: { algorithm: "chash", hash_key: { header: "X-Tenant" }, backends },
        },
      }),
    );
    await runtime.start();
    port = runtime.listeners.get("web")!.address().port;
  });

  after(async () => {
    await runtime?.stop({ graceful: false });
    for (const server of servers) {
      server.closeAllConnections();
      server.close();
    }
  });

  it("sends every request of one key to one backend, and different keys to several", async () => {
    for (const [path, headerOf] of [
      ["/by-query?x=1&user=", undefined],
      ["/by-header", (key: string) => ({ "x-tenant": key })],
    ] as const) {
      const chosen = new Set<string>();
      for (let user = 0; user < 24; user++) {
        const key = `user-${user}`;
        const url = headerOf ? path : `${path}${key}`;
        const headers = headerOf ? headerOf(key) : {};
        const first = await getBody(port, url, headers);
        for (let again = 0; again < 3; again++) {
          assert.equal(await getBody(port, url, headers), first, `${path} ${key} moved`);
        }
        chosen.add(first);
      }
      assert.ok(chosen.size >= 2, `${path}: 24 keys all went to ${[...chosen].join(",")}`);
    }
  });
});
