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

test("a zone's disk store has defaults, and two zones cannot share its folder", () => {
  const one = configSchema.parse(
    base({ main: { disk: { path: "/srv/cache/main" } } }, { zone: "main" }),
  );
  assert.deepEqual(one.caches.main.disk, {
    path: "/srv/cache/main",
    max_size: 1024 ** 3,
    min_object_size: 1024 ** 2,
  });
  const shared = configSchema.safeParse(
    base(
      {
        main: { disk: { path: "/srv/cache/x" } },
        other: { disk: { path: "/srv/cache/x/", min_object_size: 0 } },
      },
      { zone: "main" },
    ),
  );
  assert.equal(shared.success, false);
  const issue = shared.error?.issues.find((i) => i.path.join(".") === "caches.other.disk.path");
  assert.ok(issue, JSON.stringify(shared.error?.issues));
  assert.match(issue.message, /zone "main" already uses the folder/);
});
