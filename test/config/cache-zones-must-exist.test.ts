import assert from "node:assert/strict";
import { test } from "node:test";
import { configSchema } from "../../src/config/schema/index.js";

const base = (caches: unknown, cache: unknown) => ({
  ...(caches === undefined ? {} : { caches }),
  listeners: [
    {
      name: "web",
      protocol: "http",
      bind: "127.0.0.1:0",
      routes: [{ match: { path_prefix: "/" }, pool: "app", cache }],
    },
  ],
  pools: { app: { backends: [{ address: "127.0.0.1:1" }] } },
});

test("a route's cache zone must be defined under caches, and sizes are parsed", () => {
  const missing = configSchema.safeParse(base(undefined, { zone: "main" }));
  assert.equal(missing.success, false);
  const issue = missing.error?.issues.find(
    (i) => i.path.join(".") === "listeners.0.routes.0.cache.zone",
  );
  assert.ok(issue, JSON.stringify(missing.error?.issues));
  assert.match(issue.message, /unknown cache zone "main"/);
  const ok = configSchema.parse(
    base(
      { main: { max_size: "64mb", max_object_size: "512kb" } },
      { zone: "main", stale_if_error: "1h" },
    ),
  );
  assert.equal(ok.caches.main.max_size, 64 * 1024 * 1024);
  assert.equal(ok.caches.main.max_object_size, 512 * 1024);
  const bad = configSchema.safeParse(base({ main: { max_size: "lots" } }, { zone: "main" }));
  assert.equal(bad.success, false);
});
