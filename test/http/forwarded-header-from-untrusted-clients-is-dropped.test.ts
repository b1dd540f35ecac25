/**
 * RFC 7239 `Forwarded` is treated as X-Forwarded-* are: from a client that is not a trusted
 * front proxy it is dropped (a client cannot claim any for=/proto=/host= to a backend that
 * reads it), from a trusted one it is kept, and `forwarded.rfc7239` appends ballast's own
 * element (HAProxy `option forwarded`). Checked on the raw bytes the backend receives, so
 * the line is known to be cut out of the passthrough of the client's field lines too.
 */
import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import { httpListenerSchema } from "../../src/config/schema/index.js";
import { exchangeUntilOk, startProxy, startRawHeadBackend, type TestProxy } from "./helpers.js";

/** The values of every `Forwarded` line of a raw head, in order. */
function forwardedLines(head: string): string[] {
  return [...head.matchAll(/\r\nforwarded: ?([^\r]*)/gi)].map((match) => match[1]);
}

describe("Forwarded (RFC 7239) from clients", () => {
  let backend: Awaited<ReturnType<typeof startRawHeadBackend>>;
  const proxies: TestProxy[] = [];
  const proxy = async (forwarded: Record<string, unknown>, bind = "127.0.0.1:0") => {
    const started = await startProxy(
      { default_pool: "p", bind, forwarded },
      { p: { backends: [{ address: `127.0.0.1:${backend.port}` }] } },
    );
    proxies.push(started);
    return started;
  };
  /** The raw head the backend got for `fields` sent from `from` to `target`. */
  const upstreamHead = async (target: TestProxy, fields: string, from = "127.0.0.1") => {
    const before = backend.heads.length;
    const reply = await exchangeUntilOk(target.port, `GET /p HTTP/1.1\r\n${fields}\r\n`, from);
    assert.match(reply, /^HTTP\/1\.1 200 /);
    assert.equal(backend.heads.length, before + 1);
    return backend.heads[before];
  };
  const forged = "Host: shop.example\r\nForwarded: for=6.6.6.6;proto=https;host=evil\r\nX-A: 1\r\n";

  before(async () => {
    backend = await startRawHeadBackend();
  });

  after(async () => {
    for (const started of proxies) await started.close();
    backend.server.close();
  });

  it("drops a Forwarded line from a client that is not a trusted proxy", async () => {
    const untrusting = await proxy({ trusted_proxies: ["10.0.0.0/8"] });
    const seen = await upstreamHead(untrusting, forged);
    assert.deepEqual(forwardedLines(seen), []);
    // The other lines still pass as they arrived, in one run around the cut.
    assert.match(seen, /^GET \/p HTTP\/1\.1\r\nHost: shop\.example\r\nX-A: 1\r\nx-forwarded-for: /);
    assert.doesNotMatch(seen, /6\.6\.6\.6|evil/);
    // Split over several lines, in any case, written field by field (not `name: value`).
    const split = await upstreamHead(
      untrusting,
      "Host: a\r\nFORWARDED:for=6.6.6.6\r\nX-A: 1\r\nforwarded:   proto=https \r\n",
    );
    assert.deepEqual(forwardedLines(split), []);
    assert.doesNotMatch(split, /6\.6\.6\.6|https/);
  });

  it("keeps the Forwarded lines of a trusted proxy as received", async () => {
    const trusting = await proxy({ trusted_proxies: ["127.0.0.0/8"] });
    const seen = await upstreamHead(
      trusting,
      "Host: shop.example\r\nForwarded: for=203.0.113.7;proto=https\r\nX-A: 1\r\n" +
        "Forwarded: for=198.51.100.2\r\n",
    );
    assert.deepEqual(forwardedLines(seen), ["for=203.0.113.7;proto=https", "for=198.51.100.2"]);
  });

  it("leaves Forwarded alone when forwarding fields are switched off, as X-Forwarded-For", async () => {
    const passing = await proxy({ enabled: false });
    const seen = await upstreamHead(passing, forged);
    assert.deepEqual(forwardedLines(seen), ["for=6.6.6.6;proto=https;host=evil"]);
  });

  it("with rfc7239, writes its own element in place of an untrusted one", async () => {
    const writing = await proxy({ trusted_proxies: ["10.0.0.0/8"], rfc7239: true });
    const seen = await upstreamHead(writing, forged);
    assert.deepEqual(forwardedLines(seen), ["for=127.0.0.1;proto=http;host=shop.example"]);
    const withPort = await upstreamHead(writing, "Host: shop.example:8080\r\n");
    assert.deepEqual(forwardedLines(withPort), [
      'for=127.0.0.1;proto=http;host="shop.example:8080"',
    ]);
  });

  it("with rfc7239, appends its element to a trusted proxy's list", async () => {
    const writing = await proxy({
      trusted_proxies: ["127.0.0.0/8"],
      rfc7239: true,
      rfc7239_by: "_lb1",
    });
    const seen = await upstreamHead(
      writing,
      "Host: shop.example\r\nForwarded: for=203.0.113.7\r\nForwarded: for=198.51.100.2\r\n",
    );
    assert.deepEqual(forwardedLines(seen), [
      "for=203.0.113.7, for=198.51.100.2, for=127.0.0.1;proto=http;host=shop.example;by=_lb1",
    ]);
  });

  it("quotes and brackets an IPv6 client and writes by= as the address reached", async () => {
    const v6 = await proxy({ rfc7239: true, rfc7239_by: "address" }, "[::1]:0");
    const seen = await upstreamHead(v6, "Host: shop.example\r\n", "::1");
    assert.deepEqual(forwardedLines(seen), ['for="[::1]";proto=http;host=shop.example;by="[::1]"']);
  });

  it("refuses rfc7239 options that cannot be honoured", () => {
    const parse = (forwarded: Record<string, unknown>) =>
      httpListenerSchema.safeParse({ name: "t", protocol: "http", bind: "127.0.0.1:0", forwarded });
    assert.equal(parse({ rfc7239: true, rfc7239_by: "_lb-1.a" }).success, true);
    const bad = [
      { rfc7239: true, rfc7239_by: "lb1" },
      { rfc7239: true, rfc7239_by: "_a;for=6.6.6.6" },
      { rfc7239: true, rfc7239_by: "_" },
      { rfc7239_by: "_lb1" },
      { enabled: false, rfc7239: true },
      { rfc7239: "yes" },
    ];
    for (const forwarded of bad) {
      assert.equal(parse(forwarded).success, false, JSON.stringify(forwarded));
    }
  });
});
