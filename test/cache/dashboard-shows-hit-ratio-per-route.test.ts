/**
 * Each caching route has its own hit ratio, in the admin API (/api/caches) and on the
 * dashboard in a real headless Chromium, also when two routes share one zone.
 */
import assert from "node:assert/strict";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, test } from "node:test";
import { type BrowserContext, chromium } from "playwright-core";
import { adminCall, type Stack, startStack } from "../control/helpers.js";
import { fetchText, startBackend, type TestBackend } from "../http/helpers.js";
import { requireProgram } from "../support/programs.js";

const TOKEN = "cache-dashboard-token";
let stack: Stack;
let backend: TestBackend;
let browser: BrowserContext | undefined;
const profile = mkdtempSync(join(tmpdir(), "ballast-cache-dashboard-"));

before(async () => {
  backend = await startBackend("b", (req, res) => {
    req.resume();
    res.writeHead(200, { "cache-control": "max-age=600" });
    res.end(`answer for ${req.url}`);
  });
  stack = await startStack(
    `
caches:
  shared: {}
listeners:
  - name: web
    protocol: http
    bind: "127.0.0.1:0"
    access_log: false
    routes:
      - { name: assets, match: { path_prefix: /assets/ }, pool: app, cache: { zone: shared } }
      - { match: { path_prefix: /pages/ }, pool: app, cache: { zone: shared } }
pools:
  app: { backends: [{ name: b, address: "127.0.0.1:${backend.port}" }] }
admin: { bind: "127.0.0.1:0", token: "${TOKEN}" }
log: { level: silent }
`,
    { token: TOKEN },
  );
  const port = Number(new URL(stack.webUrl).port);
  // assets: one miss, three hits; pages (#1): two misses, no hit.
  for (let i = 0; i < 4; i++) await fetchText(port, "/assets/logo.png");
  await fetchText(port, "/pages/one");
  await fetchText(port, "/pages/two");
});

after(async () => {
  await browser?.close();
  await stack?.stop();
  await backend?.close();
  rmSync(profile, { recursive: true, force: true });
});

test("the admin API gives each caching route its hits, misses and hit ratio", async () => {
  const answer = await adminCall(stack, "GET", "/api/caches");
  assert.equal(answer.status, 200);
  const routes = answer.body[0].routes as {
    route: string;
    hits: number;
    misses: number;
    hitRatio: number;
  }[];
  const byName = Object.fromEntries(routes.map((r) => [r.route, r]));
  assert.deepEqual(
    [byName["web/assets"].hits, byName["web/assets"].misses, byName["web/assets"].hitRatio],
    [3, 1, 0.75],
  );
  assert.deepEqual(
    [byName["web/#1"].hits, byName["web/#1"].misses, byName["web/#1"].hitRatio],
    [0, 2, 0],
  );
});

test("the dashboard shows a hit ratio row per caching route", async () => {
  browser = await chromium.launchPersistentContext(profile, {
    executablePath: requireProgram("chromium"),
    headless: true,
    args: ["--headless", "--no-sandbox", "--disable-gpu", "--no-first-run", "--disable-sync"],
  });
  const page = await browser.newPage();
  page.setDefaultTimeout(10_000);
  await page.goto(`${stack.adminUrl}#token=${TOKEN}`);
  const assets = page.locator('tr[data-cache-route="web/assets"]');
  await assets.waitFor();
  assert.match(
    (await assets.textContent()) ?? "",
    /web\/assets\s*shared\s*3\s*0\s*1\s*0\s*75\.0 %/,
  );
  const pages = page.locator('tr[data-cache-route="web/#1"]');
  assert.match((await pages.textContent()) ?? "", /0\.0 %/);
});
