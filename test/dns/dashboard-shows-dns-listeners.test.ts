/**
 * The dashboard in a real headless Chromium shows each DNS listener: its zones with the
 * answers counted by RCODE, the answers by client region, and every name with what it
 * answers now per region, which follows a backend going down.
 */
import assert from "node:assert/strict";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, test } from "node:test";
import { type BrowserContext, chromium, type Page } from "playwright-core";
import { type Stack, startStack } from "../control/helpers.js";
import { requireProgram } from "../support/programs.js";
import { dig } from "./helpers.js";

const TOKEN = "dns-dashboard-token";

const YAML = `
listeners:
  - name: authority
    protocol: dns
    bind: "127.0.0.1:0"
    regions:
      east: ["10.1.0.0/16"]
    zones:
      - origin: example.test
        ns: [ns1.example.test]
        soa: { serial: 2026120107 }
        records:
          - { name: www, type: A, geo: { east: [east, other], default: [other] } }
          - { name: txt, type: TXT, values: ["hello"] }
          - { name: "@", type: MX, values: [{ preference: 10, exchange: mail.example.test }] }
pools:
  east: { backends: [{ address: "192.0.2.1:80" }] }
  other: { backends: [{ address: "192.0.2.2:80" }] }
admin: { bind: "127.0.0.1:0", token: "${TOKEN}" }
log: { level: silent }
`;

let stack: Stack;
let browser: BrowserContext;
let page: Page;
const profile = mkdtempSync(join(tmpdir(), "ballast-dns-dashboard-"));

before(async () => {
  const executablePath = requireProgram("chromium");
  stack = await startStack(YAML, { token: TOKEN });
  const port = stack.runtime.listeners.get("authority")!.address().port;
  await dig(port, ["www.example.test", "A", "+subnet=10.1.2.0/24", "+tcp"]);
  await dig(port, ["missing.example.test", "A", "+tcp"]);
  await dig(port, ["missing.example.test", "A", "+tcp"]);
  browser = await chromium.launchPersistentContext(profile, {
    executablePath,
    headless: true,
    args: [
      "--headless",
      "--no-sandbox",
      "--disable-gpu",
      "--no-first-run",
      "--disable-background-networking",
      "--disable-component-update",
      "--disable-sync",
    ],
  });
  page = await browser.newPage();
  page.setDefaultTimeout(10_000);
  await page.goto(`${stack.adminUrl}/#token=${TOKEN}`);
});

after(async () => {
  await browser?.close();
  await stack?.stop();
  rmSync(profile, { recursive: true, force: true });
});

test("each zone shows its serial and its answers by RCODE", async () => {
  const zone = page.locator(
    'table[data-dns-listener="authority"] tr[data-dns-zone="example.test"]',
  );
  await zone.filter({ hasText: /NXDOMAIN 2/ }).waitFor();
  const text = (await zone.textContent()) ?? "";
  assert.match(text, /2026120107/);
  assert.match(text, /NOERROR 1/);
  assert.match((await page.locator("p[data-dns-regions]").textContent()) ?? "", /east 1/);
});

test("each name shows what it answers now, per region, and follows health", async () => {
  const east = page.locator('tr[data-dns-name="www.example.test."][data-region="east"]');
  await east.filter({ hasText: "192.0.2.1 [east]" }).waitFor();
  const fallback = page.locator('tr[data-dns-name="www.example.test."][data-region="default"]');
  assert.match((await fallback.textContent()) ?? "", /192\.0\.2\.2 \[other\]/);
  assert.match(
    (await page.locator('tr[data-dns-name="txt.example.test."]').textContent()) ?? "",
    /hello/,
  );
  assert.match(
    (await page.locator('tr[data-dns-name="example.test."][data-dns-type="MX"]').textContent()) ??
      "",
    /10 mail\.example\.test/,
  );
  stack.runtime.pools.get("east")!.setHealth("192.0.2.1:80", "down", "test");
  // The page polls every second: the east region fails over to the other pool.
  await east.filter({ hasText: "192.0.2.2 [other]" }).waitFor();
});
