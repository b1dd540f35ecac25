/**
 * The attacks, run by a real headless Chromium: a page from another origin posts to
 * the admin API with `mode: "no-cors"`, and a page whose host name was rebound to loopback
 * reads it. Neither may change or read anything; the dashboard (same origin, with the token)
 * and `ballast ctl` keep working.
 */
import assert from "node:assert/strict";
import { execFile } from "node:child_process";
import { mkdtempSync, rmSync } from "node:fs";
import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { test } from "node:test";
import { ballastCtl } from "../support/ballast-cli.js";
import { requireProgram } from "../support/programs.js";
import {
  httpConfigYaml,
  type Stack,
  startBackends,
  startStack,
  type TestBackend,
} from "./helpers.js";

/**
 * Loads `url` in a fresh headless Chromium and returns the DOM once the page's scripts are
 * done (virtual time lets timers run; pending requests hold it back).
 */
function chromiumDom(url: string, extraArgs: string[] = []): Promise<string> {
  const profile = mkdtempSync(join(tmpdir(), "ballast-chromium-"));
  const args = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--disable-extensions",
    `--user-data-dir=${profile}`,
    "--virtual-time-budget=5000",
    ...extraArgs,
    "--dump-dom",
    url,
  ];
  return new Promise((done, fail) => {
    execFile(
      requireProgram("chromium"),
      args,
      { timeout: 60_000, maxBuffer: 4 << 20 },
      (error, stdout, stderr) => {
        rmSync(profile, { recursive: true, force: true });
        if (error) fail(new Error(`chromium failed on ${url}: ${error.message}\n${stderr}`));
        else done(stdout);
      },
    );
  });
}

/** The page's visible part, short enough for an assertion message. */
function shown(dom: string): string {
  const start = dom.indexOf("<body");
  const end = dom.indexOf("<script", start);
  return dom.slice(Math.max(start, 0), end < 0 ? undefined : end).slice(0, 1500);
}

/** Serves one HTML page on 127.0.0.2: another origin and, for the browser, another site. */
async function servePage(html: string): Promise<{ url: string; close(): Promise<void> }> {
  const server: Server = createServer((_req, res) => {
    res.writeHead(200, { "content-type": "text/html; charset=utf-8" });
    res.end(html);
  });
  await new Promise<void>((listening) => server.listen(0, "127.0.0.2", listening));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.2:${port}/`,
    close: () =>
      new Promise<void>((closed) => {
        server.closeAllConnections();
        server.close(() => closed());
      }),
  };
}

async function setup(
  t: { after(fn: () => Promise<void>): void },
  token: string | null,
): Promise<{ stack: Stack; backends: TestBackend[] }> {
  requireProgram("chromium");
  const backends = await startBackends(2);
  const stack = await startStack(
    httpConfigYaml({ pools: { api: { backends } }, defaultPool: "api" }),
    { token },
  );
  t.after(async () => {
    await stack.stop();
    await Promise.all(backends.map((b) => b.close()));
  });
  return { stack, backends };
}

/** The attack page: two no-cors posts, then it writes what the browser let it do. */
function attackPage(adminUrl: string, evilYaml: string): string {
  return `<!doctype html><html><body><pre id="out">running</pre><script>
const out = document.getElementById("out");
const post = (path, init) => fetch(${JSON.stringify(adminUrl)} + path, { method: "POST", mode: "no-cors", ...init })
  .then(() => "sent", (e) => "failed " + e);
Promise.all([
  post("/api/pools/api/backends/b1/disable", {}),
  post("/api/reload", { headers: { "content-type": "text/plain" }, body: ${JSON.stringify(evilYaml)} }),
]).then((results) => { out.textContent = "done " + results.join(" "); });
</script></body></html>`;
}

test("a no-cors POST from another site's page in Chromium changes nothing on a token-less admin", async (t) => {
  const { stack, backends } = await setup(t, null);
  const evil = httpConfigYaml({
    pools: {
      api: {
        backends,
        extra: "health_check: { type: exec, command: [sh, -c, 'id > /dev/null'], interval: 1s }",
      },
    },
    defaultPool: "api",
  });
  const page = await servePage(attackPage(stack.adminUrl, evil));
  t.after(() => page.close());

  const dom = await chromiumDom(page.url);
  // Both requests reached the admin (a refused connection would read "failed").
  assert.match(dom, /done sent sent/, shown(dom));
  assert.equal(stack.runtime.pools.get("api")?.get("b1")?.enabled, true, "b1 still enabled");
  assert.equal(stack.runtime.config.pools.api.health_check, undefined, "no exec check loaded");
});

test("a no-cors POST from another site in Chromium cannot use an admin with a token; the dashboard with the token and ctl can", async (t) => {
  const token = "chromium-test-token";
  const { stack } = await setup(t, token);
  const page = await servePage(attackPage(stack.adminUrl, "listeners: []"));
  t.after(() => page.close());

  assert.match(await chromiumDom(page.url), /done sent sent/);
  assert.equal(stack.runtime.pools.get("api")?.get("b1")?.enabled, true);

  // The dashboard is same-origin: given the token in the URL's fragment it shows the state.
  const dashboard = await chromiumDom(`${stack.adminUrl}/#token=${token}`);
  assert.match(dashboard, /id="status">pid \d+/, shown(dashboard));
  assert.match(dashboard, /<td[^>]*>b1<\/td>/, "b1 has a row");

  const disabled = await ballastCtl([
    "disable",
    "api",
    "b1",
    "--admin",
    stack.adminUrl,
    "-t",
    token,
  ]);
  assert.equal(disabled.code, 0, disabled.stderr);
  assert.equal(stack.runtime.pools.get("api")?.get("b1")?.enabled, false);
});

test("a page whose host name was rebound to the admin's address (DNS rebinding) reads nothing in Chromium", async (t) => {
  const { stack } = await setup(t, null);
  const port = stack.admin.address().port;
  // The browser resolves evil.example to loopback, as after a rebinding attack: the page's
  // origin is evil.example, yet its requests reach the admin API.
  const dom = await chromiumDom(`http://evil.example:${port}/`, [
    "--host-resolver-rules=MAP evil.example 127.0.0.1",
  ]);
  assert.doesNotMatch(dom, /pid \d+/, shown(dom));
  assert.match(dom, /not a name of this admin API/, shown(dom));
});
