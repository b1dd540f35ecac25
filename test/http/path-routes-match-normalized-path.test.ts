/**
 * A `path_prefix` route matches every spelling of its path, as nginx's `location` does:
 * percent escapes, dot segments, doubled slashes, backslashes and `;params` cannot walk
 * around a route that answers 403. The request is forwarded as the client sent it.
 */
import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import { routingPath } from "../../src/http/routing-path.js";
import {
  backendsOf,
  rawExchange,
  startBackend,
  startProxy,
  type TestBackend,
  type TestProxy,
} from "./helpers.js";

describe("routingPath", () => {
  const cases: [string, string | undefined][] = [
    ["/", "/"],
    ["/a/b", "/a/b"],
    ["//admin/secret", "/admin/secret"],
    ["/./admin/secret", "/admin/secret"],
    ["/public/../admin/secret", "/admin/secret"],
    ["/%61dmin/secret", "/admin/secret"],
    ["/%2e/admin/secret", "/admin/secret"],
    ["/%2e%2e/admin", undefined],
    ["/public/%2e%2e/admin/secret", "/admin/secret"],
    ["/public%2f..%2fadmin/secret", "/admin/secret"],
    ["/%2fadmin/secret", "/admin/secret"],
    ["/public\\..\\admin/secret", "/admin/secret"],
    ["/public/..;/admin/secret", "/admin/secret"],
    ["/admin;jsessionid=1/secret", "/admin/secret"],
    ["/a/b/", "/a/b/"],
    ["/a/b/.", "/a/b/"],
    ["/a/b/..", "/a/"],
    ["/..", undefined],
    ["/a/../..", undefined],
    ["/%zz", undefined],
    ["/%4", undefined],
    ["/%00", undefined],
    ["/a%0d%0ab", undefined],
    ["/a#b", undefined],
    ["/caf%C3%A9", "/café"],
  ];
  for (const [raw, expected] of cases) {
    it(`${raw} → ${expected ?? "refused"}`, () => {
      assert.equal(routingPath(raw), expected);
    });
  }
});

describe("http path routes on the normalized path", () => {
  let backend: TestBackend;
  let proxy: TestProxy;

  before(async () => {
    backend = await startBackend("b");
    proxy = await startProxy(
      {
        default_pool: "p",
        routes: [{ match: { path_prefix: "/admin" }, respond: { status: 403, body: "no" } }],
      },
      { p: { backends: backendsOf([backend]) } },
    );
  });

  after(async () => {
    await proxy.close();
    await backend.close();
  });

  const get = (path: string) =>
    rawExchange(proxy.port, `GET ${path} HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n`, false);

  const bypasses = [
    "/admin/secret",
    "//admin/secret",
    "/./admin/secret",
    "/public/../admin/secret",
    "/%61dmin/secret",
    "/%2e/admin/secret",
    "/%2fadmin/secret",
    "/public%2f..%2fadmin/secret",
    "/public/%2e%2e/admin/secret",
    "/public/..;/admin/secret",
    "/public\\..\\admin/secret",
    "/%41dmin/secret".replace("%41", "%61"),
  ];
  for (const path of bypasses) {
    it(`${path} → 403`, async () => {
      const before = backend.seen.length;
      assert.match(await get(path), /^HTTP\/1\.1 403 /);
      assert.equal(backend.seen.length, before);
    });
  }

  for (const path of ["/..", "/%zz", "/%00admin", "/a#frag"]) {
    it(`${path} → 400`, async () => {
      const before = backend.seen.length;
      assert.match(await get(path), /^HTTP\/1\.1 400 /);
      assert.equal(backend.seen.length, before);
    });
  }

  it("other paths are forwarded as the client sent them", async () => {
    const before = backend.seen.length;
    assert.match(await get("/public//a/./b?x=%2F"), /^HTTP\/1\.1 200 /);
    assert.equal(backend.seen[before].url, "/public//a/./b?x=%2F");
  });
});
