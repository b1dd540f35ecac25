/**
 * RFC 9112 3.2.2: in an absolute-form request the target's authority wins over Host. The
 * request is routed on it and the backend gets it as Host, so a Host route cannot be
 * bypassed by naming another host in the target.
 */
import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import {
  backendsOf,
  rawExchange,
  startBackend,
  startProxy,
  type TestBackend,
  type TestProxy,
} from "./helpers.js";

describe("http absolute-form target", () => {
  let backend: TestBackend;
  let proxy: TestProxy;

  before(async () => {
    backend = await startBackend("b");
    proxy = await startProxy(
      {
        default_pool: "p",
        routes: [{ match: { host: "admin.example" }, respond: { status: 403 } }],
      },
      { p: { backends: backendsOf([backend]) } },
    );
  });

  after(async () => {
    await proxy.close();
    await backend.close();
  });

  it("routes on the target's authority: http://admin.example/ with Host public → 403", async () => {
    const reply = await rawExchange(
      proxy.port,
      "GET http://admin.example/x HTTP/1.1\r\nHost: public.example\r\nConnection: close\r\n\r\n",
      false,
    );
    assert.match(reply, /^HTTP\/1\.1 403 /);
  });

  it("forwards the authority as Host: http://public.example/ with Host admin → backend sees public", async () => {
    const before = backend.seen.length;
    const reply = await rawExchange(
      proxy.port,
      "GET http://public.example/x?q=1 HTTP/1.1\r\nHost: admin.example\r\nConnection: close\r\n\r\n",
      false,
    );
    assert.match(reply, /^HTTP\/1\.1 200 /);
    const seen = backend.seen[before];
    assert.equal(seen.headers.host, "public.example");
    assert.equal(seen.url, "/x?q=1");
    assert.equal(seen.headers["x-forwarded-host"], "public.example");
  });
});
