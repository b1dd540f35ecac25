import assert from "node:assert/strict";
import { once } from "node:events";
import {
  createServer,
  type IncomingHttpHeaders,
  type IncomingMessage,
  request,
  type Server,
} from "node:http";
import type { AddressInfo } from "node:net";
import { after, before, describe, it } from "node:test";
import { configSchema } from "../../src/config/schema/index.js";
import {
  stickyBackendOf,
  stickyCookie,
  stickyToken,
  withoutCookie,
} from "../../src/http/sticky.js";
import { BackendState } from "../../src/pool/backend.js";
import { Pool } from "../../src/pool/pool.js";
import { Runtime } from "../../src/runtime/runtime.js";

interface Reply {
  status: number;
  headers: IncomingHttpHeaders;
  body: string;
}

/** A backend that answers with its name and remembers the Cookie headers it was sent. */
async function nameServer(
  name: string,
): Promise<{ server: Server; port: number; cookies: string[] }> {
  const cookies: string[] = [];
  const server = createServer((req: IncomingMessage, res) => {
    if (req.headers.cookie !== undefined) cookies.push(req.headers.cookie);
    res.setHeader("content-type", "text/plain");
    res.end(name);
  });
  server.listen(0, "127.0.0.1");
  await once(server, "listening");
  return { server, port: (server.address() as AddressInfo).port, cookies };
}

function get(port: number, headers: Record<string, string> = {}): Promise<Reply> {
  return new Promise((resolve, reject) => {
    const req = request({ host: "127.0.0.1", port, path: "/", headers, agent: false }, (res) => {
      let body = "";
      res.setEncoding("utf8");
      res.on("data", (chunk: string) => {
        body += chunk;
      });
      res.on("end", () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body }));
    });
    req.setTimeout(5000, () => req.destroy(new Error("request timed out")));
    req.on("error", reject);
    req.end();
  });
}

/** The `name=value` part of the Set-Cookie for `name`, if the response has one. */
function setCookie(reply: Reply, name: string): string | undefined {
  return reply.headers["set-cookie"]?.find((c) => c.startsWith(`${name}=`));
}

function cookiePair(setCookieValue: string): string {
  return setCookieValue.split(";")[0];
}

async function closeServer(server: Server): Promise<void> {
  server.closeAllConnections();
  await new Promise((resolve) => server.close(resolve));
}

describe("sticky cookie through the proxy", () => {
  const names = ["alpha", "beta", "gamma"];
  let backends: Awaited<ReturnType<typeof nameServer>>[] = [];
  let runtime: Runtime;
  let port: number;

  before(async () => {
    backends = await Promise.all(names.map(nameServer));
    const config = configSchema.parse({
      log: { level: "silent" },
      listeners: [
        {
          name: "web",
          protocol: "http",
          bind: "127.0.0.1:0",
          default_pool: "app",
          access_log: false,
        },
      ],
      pools: {
        app: {
          algorithm: "rr",
          backends: backends.map((b, i) => ({ name: names[i], address: `127.0.0.1:${b.port}` })),
          sticky: { cookie: "SRV", max_age: "1h" },
          passive: { max_fails: 1, fail_timeout: "30s" },
        },
      },
    });
    runtime = new Runtime(config);
    await runtime.start();
    port = runtime.listeners.get("web")!.address().port;
  });

  after(async () => {
    await runtime?.stop({ graceful: false });
    await Promise.all(
      backends.map((b) => (b.server.listening ? closeServer(b.server) : undefined)),
    );
  });

  it("spreads clients without a cookie, so stickiness below comes from the cookie", async () => {
    const seen = new Set<string>();
    for (let i = 0; i < 6; i++) seen.add((await get(port)).body);
    assert.deepEqual([...seen].sort(), [...names].sort());
  });

  it("keeps a client on its backend, moves it when that backend dies, and the new cookie sticks", async () => {
    const first = await get(port);
    assert.equal(first.status, 200);
    const firstCookie = setCookie(first, "SRV");
    assert.ok(firstCookie, "the first answer sets the sticky cookie");
    assert.match(firstCookie, /; Path=\//);
    assert.match(firstCookie, /; Max-Age=3600/);
    assert.match(firstCookie, /; HttpOnly/);
    // nocache: a shared cache must not hand this client's cookie to others.
    assert.match(String(first.headers["cache-control"]), /private/);
    const owner = first.body;
    const ownerIndex = names.indexOf(owner);
    const value = cookiePair(firstCookie).slice("SRV=".length);
    // Opaque: neither the backend's name nor its address appears in the value.
    assert.ok(!value.includes(owner) && !value.includes(String(backends[ownerIndex].port)));

    for (let i = 0; i < 30; i++) {
      const reply = await get(port, { cookie: `lang=en; ${cookiePair(firstCookie)}` });
      assert.equal(reply.status, 200);
      assert.equal(reply.body, owner, `request ${i} stays on ${owner}`);
      assert.equal(setCookie(reply, "SRV"), undefined, "a valid cookie is not set again");
    }

    await closeServer(backends[ownerIndex].server);

    const moved = await get(port, { cookie: cookiePair(firstCookie) });
    assert.equal(moved.status, 200, "the request is served by another backend");
    assert.notEqual(moved.body, owner);
    const newCookie = setCookie(moved, "SRV");
    assert.ok(newCookie, "the cookie is rewritten for the new backend");
    assert.notEqual(cookiePair(newCookie), cookiePair(firstCookie));

    for (let i = 0; i < 30; i++) {
      const reply = await get(port, { cookie: cookiePair(newCookie) });
      assert.equal(reply.status, 200);
      assert.equal(reply.body, moved.body, `request ${i} stays on ${moved.body}`);
      assert.equal(setCookie(reply, "SRV"), undefined);
    }
  });

  it("never shows the balancer's cookie to a backend, and keeps the client's own (indirect)", () => {
    const all = backends.flatMap((b) => b.cookies);
    assert.ok(
      all.some((c) => c.includes("lang=en")),
      "the client's own cookie is passed on",
    );
    assert.ok(
      all.every((c) => !c.includes("SRV=")),
      `backends saw: ${all.join(" | ")}`,
    );
  });
});

describe("sticky cookie values", () => {
  it("are opaque, stable per backend id and differ between backends", () => {
    const a = new BackendState({ id: "a", host: "10.0.0.1", port: 8080 });
    const sameId = new BackendState({ id: "a", host: "10.0.0.9", port: 9090 });
    const b = new BackendState({ host: "10.0.0.2", port: 8080 });
    assert.equal(stickyToken(a), stickyToken(sameId));
    assert.notEqual(stickyToken(a), stickyToken(b));
    assert.ok(!stickyToken(b).includes("10.0.0.2"));
    assert.match(stickyToken(a), /^[A-Za-z0-9_-]{16}$/);
  });

  it("carry Path, Max-Age, HttpOnly and Secure as configured", () => {
    const backend = new BackendState({ id: "a", host: "127.0.0.1", port: 1 });
    const token = stickyToken(backend);
    assert.equal(
      stickyCookie(backend, { cookie: "S", httpOnly: false, secure: false }),
      `S=${token}; Path=/`,
    );
    assert.equal(
      stickyCookie(backend, { cookie: "S", maxAgeMs: 90_000, httpOnly: true, secure: true }),
      `S=${token}; Path=/; Max-Age=90; HttpOnly; Secure`,
    );
  });

  it("are removed from the Cookie header sent upstream, other cookies kept", () => {
    assert.equal(withoutCookie("a=1; SRV=x; b=2", "SRV"), "a=1; b=2");
    assert.equal(withoutCookie("SRV=x", "SRV"), undefined);
    assert.equal(withoutCookie("a=1;b=2", "SRV"), "a=1;b=2");
    assert.equal(withoutCookie("XSRV=1; SRVX=2", "SRV"), "XSRV=1; SRVX=2");
  });

  it("name a backend only while it is available; weight 0 keeps its sticky clients", () => {
    const pool = new Pool("p", [
      { id: "a", host: "127.0.0.1", port: 1 },
      { id: "b", host: "127.0.0.1", port: 2 },
    ]);
    const sticky = { cookie: "SRV", httpOnly: true, secure: false };
    const a = pool.get("a")!;
    const requestWith = (cookie: string) =>
      ({ rawHeaders: ["Cookie", cookie] }) as unknown as IncomingMessage;
    const withA = requestWith(`x=1; SRV=${stickyToken(a)}`);
    assert.equal(stickyBackendOf(withA, pool, sticky), a);
    assert.equal(stickyBackendOf(requestWith("SRV=AAAAAAAAAAAAAAAA"), pool, sticky), undefined);
    assert.equal(stickyBackendOf(requestWith("SRV=127.0.0.1:1"), pool, sticky), undefined);
    pool.setWeight("a", 0);
    assert.equal(stickyBackendOf(withA, pool, sticky), a, "quiesced, not refused");
    pool.setHealth("a", "down");
    assert.equal(stickyBackendOf(withA, pool, sticky), undefined, "down");
    pool.setHealth("a", "up");
    pool.drain("a");
    assert.equal(stickyBackendOf(withA, pool, sticky), undefined, "draining");
    pool.setEnabled("a", true);
    assert.equal(stickyBackendOf(withA, pool, sticky), a);
    pool.remove("a");
    assert.equal(stickyBackendOf(withA, pool, sticky), undefined, "removed from the pool");
    const again = pool.add({ id: "a", host: "127.0.0.1", port: 3 });
    assert.equal(stickyBackendOf(withA, pool, sticky), again, "same name, same cookie");
    pool.close();
  });
});
