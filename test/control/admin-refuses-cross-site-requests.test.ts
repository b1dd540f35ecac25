/**
 * The admin API refuses what a web page could send it: state changes without the token
 * (a token-less admin is read-only), requests from another origin or site, Host names that
 * are not its own (DNS rebinding) and "simple" request bodies that skip the CORS preflight.
 */
import assert from "node:assert/strict";
import { test } from "node:test";
import {
  httpConfigYaml,
  rawRequest,
  type Stack,
  startBackends,
  startStack,
  type TestBackend,
} from "./helpers.js";

async function setup(
  t: { after(fn: () => Promise<void>): void },
  token: string | null,
): Promise<{ stack: Stack; port: number; backends: TestBackend[] }> {
  const backends = await startBackends(2);
  const stack = await startStack(
    httpConfigYaml({ pools: { api: { backends } }, defaultPool: "api" }),
    { token },
  );
  t.after(async () => {
    await stack.stop();
    await Promise.all(backends.map((b) => b.close()));
  });
  return { stack, port: stack.admin.address().port, backends };
}

/** A config that would run a command on the balancer's host if a reload accepted it. */
function evilConfig(backends: TestBackend[]): string {
  return httpConfigYaml({
    pools: {
      api: {
        backends,
        extra: "health_check: { type: exec, command: [sh, -c, 'id > /dev/null'], interval: 1s }",
      },
    },
    defaultPool: "api",
  });
}

test("a token-less admin is read-only: the issue's curl with a foreign Origin and text/plain changes nothing", async (t) => {
  const { stack, port, backends } = await setup(t, null);
  const pool = stack.runtime.pools.get("api")!;
  const host = `127.0.0.1:${port}`;

  const reload = await rawRequest(
    port,
    "POST",
    "/api/reload",
    { host, origin: "http://evil.example", "content-type": "text/plain" },
    evilConfig(backends),
  );
  assert.equal(reload.status, 403, reload.text);
  assert.equal(stack.runtime.config.pools.api.health_check, undefined);

  // Even a same-origin request without a token may not change state when no token is set.
  const disable = await rawRequest(port, "POST", "/api/pools/api/backends/b1/disable", { host });
  assert.equal(disable.status, 403, disable.text);
  assert.match(JSON.parse(disable.text).error, /read-only.*admin\.token/);
  assert.equal(pool.get("b1")?.enabled, true);

  // Reading still works, from ctl or curl (no Origin) and from the dashboard (same origin).
  assert.equal((await rawRequest(port, "GET", "/api/pools", { host })).status, 200);
  const sameOrigin = await rawRequest(port, "GET", "/api/status", {
    host,
    origin: `http://${host}`,
    "sec-fetch-site": "same-origin",
  });
  assert.equal(sameOrigin.status, 200, sameOrigin.text);
});

test("a foreign Host (DNS rebinding) or a cross-site fetch cannot even read", async (t) => {
  const { port } = await setup(t, null);
  const rebound = await rawRequest(port, "GET", "/api/config", { host: `evil.example:${port}` });
  assert.equal(rebound.status, 421, rebound.text);
  assert.match(JSON.parse(rebound.text).error, /Host "evil\.example:\d+"/);
  assert.equal((await rawRequest(port, "GET", "/", { host: "evil.example" })).status, 421);

  const crossSite = await rawRequest(port, "GET", "/api/pools", {
    host: `127.0.0.1:${port}`,
    "sec-fetch-site": "cross-site",
  });
  assert.equal(crossSite.status, 403, crossSite.text);
  const foreignOrigin = await rawRequest(port, "GET", "/api/pools", {
    host: `127.0.0.1:${port}`,
    origin: "http://127.0.0.2:8000",
  });
  assert.equal(foreignOrigin.status, 403, foreignOrigin.text);
  const nullOrigin = await rawRequest(port, "GET", "/api/pools", {
    host: `127.0.0.1:${port}`,
    origin: "null",
  });
  assert.equal(nullOrigin.status, 403, nullOrigin.text);

  // The loopback names and IP literals a local client or an ssh tunnel uses are accepted.
  for (const host of [`localhost:${port}`, `[::1]:${port}`, "127.0.0.1:8000", "localhost"]) {
    assert.equal((await rawRequest(port, "GET", "/api/status", { host })).status, 200, host);
  }
});

test("with a token, state changes need it, a non-simple body type and no foreign origin", async (t) => {
  const token = "s3cret-token";
  const { stack, port, backends } = await setup(t, token);
  const pool = stack.runtime.pools.get("api")!;
  const host = `127.0.0.1:${port}`;
  const auth = `Bearer ${token}`;

  // A body a form or a no-cors fetch can send is refused before it is read.
  for (const type of ["text/plain", "application/x-www-form-urlencoded", "multipart/form-data"]) {
    const answer = await rawRequest(
      port,
      "POST",
      "/api/reload",
      { host, authorization: auth, "content-type": type },
      evilConfig(backends),
    );
    assert.equal(answer.status, 415, `${type}: ${answer.text}`);
  }
  const untyped = await rawRequest(
    port,
    "PUT",
    "/api/pools/api/backends/b1/weight",
    { host, authorization: auth },
    '{"weight": 9}',
  );
  assert.equal(untyped.status, 415, untyped.text);
  assert.equal(pool.get("b1")?.configuredWeight, 1);
  assert.equal(stack.runtime.config.pools.api.health_check, undefined);

  const foreign = await rawRequest(port, "POST", "/api/pools/api/backends/b1/disable", {
    host,
    authorization: auth,
    origin: "http://evil.example",
  });
  assert.equal(foreign.status, 403, foreign.text);
  assert.equal(pool.get("b1")?.enabled, true);

  // What the dashboard sends (same origin) and what ctl sends (no Origin) work.
  const dashboard = await rawRequest(port, "POST", "/api/pools/api/backends/b1/disable", {
    host,
    authorization: auth,
    origin: `http://${host}`,
    "sec-fetch-site": "same-origin",
  });
  assert.equal(dashboard.status, 200, dashboard.text);
  assert.equal(pool.get("b1")?.enabled, false);
  const weight = await rawRequest(
    port,
    "PUT",
    "/api/pools/api/backends/b1/weight",
    { host, authorization: auth, "content-type": "application/json" },
    '{"weight": 9}',
  );
  assert.equal(weight.status, 200, weight.text);
  assert.equal(pool.get("b1")?.configuredWeight, 9);

  // No preflight ever succeeds: the answer carries no CORS permission.
  const preflight = await rawRequest(port, "OPTIONS", "/api/reload", {
    host,
    origin: "http://evil.example",
    "access-control-request-method": "POST",
    "access-control-request-headers": "authorization",
  });
  assert.notEqual(preflight.status, 200);
  assert.equal(preflight.headers["access-control-allow-origin"], undefined);
});

test("the dashboard page may not be framed by another site", async (t) => {
  const { port } = await setup(t, null);
  const page = await rawRequest(port, "GET", "/", { host: `127.0.0.1:${port}` });
  assert.equal(page.status, 200);
  assert.equal(page.headers["x-frame-options"], "DENY");
  assert.match(String(page.headers["content-security-policy"]), /frame-ancestors 'none'/);
  // A link from another site opens it; a frame or a fetch from another site does not.
  const linked = await rawRequest(port, "GET", "/", {
    host: `127.0.0.1:${port}`,
    "sec-fetch-site": "cross-site",
    "sec-fetch-mode": "navigate",
    "sec-fetch-dest": "document",
  });
  assert.equal(linked.status, 200);
  const framed = await rawRequest(port, "GET", "/", {
    host: `127.0.0.1:${port}`,
    "sec-fetch-site": "cross-site",
    "sec-fetch-mode": "navigate",
    "sec-fetch-dest": "iframe",
  });
  assert.equal(framed.status, 403);
});
