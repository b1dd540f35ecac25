/**
 * The dashboard in a real headless Chromium shows the registry: each service with its
 * instance count and watchers, and each instance with its zone and the time its lease has left.
 */
import assert from "node:assert/strict";
import { mkdtempSync, rmSync } from "node:fs";
import { request } from "node:http";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { test } from "node:test";
import { chromium } from "playwright-core";
import { adminCall, httpConfigYaml, startBackends, startStack } from "../control/helpers.js";
import { requireProgram } from "../support/programs.js";

test("the dashboard shows registry services, watchers and leases", {
  timeout: 60_000,
}, async (t) => {
  const executablePath = requireProgram("chromium");
  const backends = await startBackends(1);
  const yaml = httpConfigYaml({ pools: { web: { backends } }, defaultPool: "web", admin: {} });
  await Promise.all(backends.map((b) => b.close()));
  // Node runs after-hooks in the order they were added: undo in reverse instead, so the
  // browser and the event stream are gone before the admin server stops.
  const cleanups: Array<() => unknown> = [];
  t.after(async () => {
    for (const cleanup of cleanups.reverse()) await cleanup();
  });
  const stack = await startStack(`${yaml}registry:\n  self_preservation: false\n`);
  cleanups.push(() => stack.stop());
  const registered = await adminCall(stack, "POST", "/api/registry/services/api/instances", {
    address: "127.0.0.1:7001",
    id: "api-1",
    zone: "eu-1",
    ttl: "90s",
  });
  assert.equal(registered.status, 201);
  const watch = request(`${stack.adminUrl}/api/registry/services/api/events`, {
    headers: { authorization: `Bearer ${stack.token}` },
  });
  watch.on("error", () => {});
  watch.end();
  cleanups.push(() => watch.destroy());

  const profile = mkdtempSync(join(tmpdir(), "ballast-dashboard-registry-"));
  cleanups.push(() => rmSync(profile, { recursive: true, force: true }));
  const browser = await chromium.launchPersistentContext(profile, {
    executablePath,
    headless: true,
    // Fail rather than wait the default three minutes for a browser that does not start.
    timeout: 30_000,
    args: [
      "--headless",
      "--no-sandbox",
      "--disable-gpu",
      "--no-first-run",
      "--disable-background-networking",
    ],
  });
  cleanups.push(() => browser.close());
  const page = await browser.newPage();
  page.setDefaultTimeout(15_000);
  // The token travels in the fragment, as `ballast demo` links it.
  await page.goto(`${stack.adminUrl}/#token=${stack.token}`);
  const service = page.locator('#registry-services tr[data-service="api"]');
  await service.filter({ hasText: /ok/ }).waitFor();
  const cells = (await service.locator("td").allTextContents()).map((c) => c.trim());
  assert.deepEqual(cells.slice(0, 2), ["api", "1"]);
  assert.equal(cells[4], "1", "one event stream watches api");
  const instance = page.locator('#registry-instances tr[data-instance="api/api-1"]');
  await instance.waitFor();
  const text = (await instance.textContent()) ?? "";
  assert.match(text, /127\.0\.0\.1:7001/);
  assert.match(text, /eu-1/);
  assert.match(text, /1m30s/, "the TTL");
  assert.match(text, /live/);
});
