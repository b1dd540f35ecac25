/**
 * The dashboard in a real headless Chromium: Enter in the token field submits it, each
 * backend shows its last check ("L7STS/500 in 1ms") and why, each pool a totals row, numbers
 * are right-aligned in tabular figures, and the CSV export downloads the stats.
 */
import assert from "node:assert/strict";
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { createServer, type Server } from "node:http";
import { type AddressInfo, createServer as createTcpServer } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, test } from "node:test";
import { type BrowserContext, chromium, type Page } from "playwright-core";
import { requireProgram } from "../support/programs.js";
import { waitFor } from "../support/wait.js";
import { type Stack, startBackend, startStack, type TestBackend } from "./helpers.js";

const TOKEN = "dashboard-test-token";

let stack: Stack;
let healthy: TestBackend;
let failing: Server;
let browser: BrowserContext;
let page: Page;
const profile = mkdtempSync(join(tmpdir(), "ballast-dashboard-"));

before(async () => {
  const executablePath = requireProgram("chromium");
  healthy = await startBackend("ok");
  failing = createServer((_req, res) => res.writeHead(500).end("broken"));
  await new Promise<void>((resolve) => failing.listen(0, "127.0.0.1", resolve));
  const probe = createTcpServer();
  await new Promise<void>((resolve) => probe.listen(0, "127.0.0.1", resolve));
  const closedPort = (probe.address() as AddressInfo).port;
  await new Promise<void>((resolve) => probe.close(() => resolve()));
  const yaml = `
listeners:
  - { name: web, protocol: http, bind: "127.0.0.1:0", default_pool: api, access_log: false }
pools:
  api:
    health_check: { type: http, path: /, interval: 50ms, timeout: 1s, rise: 2, fall: 1 }
    backends:
      - { name: ok, address: "${healthy.address}" }
      - { name: five-hundred, address: "127.0.0.1:${(failing.address() as AddressInfo).port}" }
      - { name: closed, address: "127.0.0.1:${closedPort}" }
admin: { bind: "127.0.0.1:0", token: "${TOKEN}" }
log: { level: silent }
`;
  stack = await startStack(yaml, { token: TOKEN });
  await waitFor("the first checks", () =>
    stack.runtime.healthChecks("api").every((check) => check.checks >= 1),
  );
  browser = await chromium.launchPersistentContext(profile, {
    executablePath,
    headless: true,
    acceptDownloads: true,
    args: [
      "--headless",
      "--no-sandbox",
      "--disable-gpu",
      "--disable-quic",
      "--no-first-run",
      "--disable-background-networking",
      "--disable-component-update",
      "--disable-sync",
    ],
  });
  page = await browser.newPage();
  page.setDefaultTimeout(10_000);
});

after(async () => {
  await browser?.close();
  await stack?.stop();
  await healthy?.close();
  failing?.close();
  rmSync(profile, { recursive: true, force: true });
});

test("Enter in the token field submits it, and the tables fill in", async () => {
  await page.goto(stack.adminUrl);
  await page.locator("#token").waitFor({ state: "visible" });
  await page.locator("#token").fill(TOKEN);
  await page.locator("#token").press("Enter");
  await page.locator("#auth").waitFor({ state: "hidden" });
  await page.locator('tr[data-backend="ok"]').waitFor();
});

test("each backend shows its last check and why; each pool a totals row", async () => {
  const failingRow = page.locator('tr[data-backend="five-hundred"]');
  await failingRow.filter({ hasText: /L7STS\/500 in \d+ms/ }).waitFor();
  assert.match((await failingRow.textContent()) ?? "", /DOWN/);
  assert.match((await failingRow.textContent()) ?? "", /status 500/);
  const closedRow = page.locator('tr[data-backend="closed"]');
  await closedRow.filter({ hasText: /L4CON in \d+ms/ }).waitFor();
  assert.match((await closedRow.textContent()) ?? "", /ECONNREFUSED/);
  const total = page.locator('table[data-pool="api"] tr.total');
  assert.match((await total.textContent()) ?? "", /1\/3 available/);
});

test("numbers are right-aligned in tabular figures", async () => {
  // One expression in the page (the test is compiled without DOM types): the table is
  // redrawn every second, and a detached cell has no computed style.
  const style = await page.evaluate(`(() => {
    const computed = getComputedStyle(document.querySelector('tr[data-backend="ok"] td.num'));
    return { align: computed.textAlign, figures: computed.fontVariantNumeric };
  })()`);
  assert.deepEqual(style, { align: "right", figures: "tabular-nums" });
});

test("the CSV export downloads the stats with the token in a header, not the URL", async () => {
  const [download] = await Promise.all([
    page.waitForEvent("download"),
    page.locator("#export-csv").click(),
  ]);
  assert.match(download.url(), /^blob:/);
  const path = await download.path();
  const csv = readFileSync(path, "utf8");
  assert.match(csv, /^pool,backend,/);
  assert.match(csv, /\r\napi,five-hundred,[^\r]*,L7STS,500,/);
});
