import assert from "node:assert/strict";
import { execFile } from "node:child_process";
import { resolve } from "node:path";
import { after, before, describe, it } from "node:test";
import { adminCall, type Stack, startStack } from "../control/helpers.js";
import { fetchText, startBackend, type TestBackend } from "../http/helpers.js";

/** The compiled `ballast` command (this file runs from dist/test/cache). */
const BALLAST = resolve(import.meta.dirname, "../../src/cli/main.js");

function ctl(args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((done) => {
    execFile(
      process.execPath,
      [BALLAST, "ctl", ...args],
      { env: { ...process.env, BALLAST_ADMIN: "", BALLAST_ADMIN_TOKEN: "" }, timeout: 20_000 },
      (error, stdout, stderr) => {
        const code = error ? (typeof error.code === "number" ? error.code : -1) : 0;
        done({ code, stdout, stderr });
      },
    );
  });
}

describe("purge by URL and by tag", () => {
  let backend: TestBackend;
  let stack: Stack;
  let port: number;

  before(async () => {
    backend = await startBackend("b", (req, res) => {
      req.resume();
      const tag = req.url?.startsWith("/products/") ? "products" : "other";
      res.writeHead(200, {
        "cache-control": "max-age=600",
        "surrogate-key": `${tag} all`,
        "cache-tag": `path:${req.url}`,
      });
      res.end(`body of ${req.url}`);
    });
    const yaml = [
      "caches:",
      "  main:",
      "    max_size: 16mb",
      "listeners:",
      "  - name: web",
      "    protocol: http",
      '    bind: "127.0.0.1:0"',
      "    access_log: false",
      "    routes:",
      '      - match: { path_prefix: "/" }',
      "        pool: app",
      "        cache: { zone: main }",
      "pools:",
      "  app:",
      "    backends:",
      `      - address: "127.0.0.1:${backend.port}"`,
      "",
    ].join("\n");
    stack = await startStack(yaml, { token: "tok" });
    port = Number(new URL(stack.webUrl).port);
  });

  after(async () => {
    await stack.stop();
    await backend.close();
  });

  const state = async (path: string) =>
    (await fetchText(port, path, { headers: { host: "shop.example" } })).headers["x-cache"];
  const warm = async (...paths: string[]) => {
    for (const path of paths) {
      await state(path);
      assert.equal(await state(path), "HIT");
    }
  };

  it("removes one URL through the admin API", async () => {
    await warm("/products/1", "/products/2?color=red");
    const answer = await adminCall(stack, "POST", "/api/caches/purge", {
      url: "http://shop.example/products/2?color=red",
    });
    assert.equal(answer.status, 200);
    assert.deepEqual(answer.body.purged, { main: 1 });
    assert.equal(await state("/products/2?color=red"), "MISS");
    assert.equal(await state("/products/1"), "HIT");
  });

  it("removes every response of a Surrogate-Key or Cache-Tag tag", async () => {
    await warm("/products/3", "/products/4", "/about");
    const answer = await adminCall(stack, "POST", "/api/caches/purge", { tag: "products" });
    assert.equal(answer.body.purged.main >= 2, true);
    assert.equal(await state("/products/3"), "MISS");
    assert.equal(await state("/products/4"), "MISS");
    assert.equal(await state("/about"), "HIT");
    await adminCall(stack, "POST", "/api/caches/purge", { tag: "path:/about" });
    assert.equal(await state("/about"), "MISS");
  });

  it("refuses a purge that names no target, or two", async () => {
    const none = await adminCall(stack, "POST", "/api/caches/purge", {});
    assert.equal(none.status, 400);
    const two = await adminCall(stack, "POST", "/api/caches/purge", { url: "/a", tag: "b" });
    assert.equal(two.status, 400);
    const zone = await adminCall(stack, "POST", "/api/caches/purge", { all: true, zone: "nope" });
    assert.equal(zone.status, 404);
  });

  it("purges with `ballast ctl cache purge` and lists zones with `ballast ctl cache`", async () => {
    await warm("/products/5");
    const admin = ["--admin", stack.adminUrl, "--token", "tok"];
    const purge = await ctl(["cache", "purge", "--tag", "products", ...admin]);
    assert.equal(purge.code, 0, purge.stderr);
    assert.match(purge.stdout, /main: \d+ purged/);
    assert.equal(await state("/products/5"), "MISS");
    const list = await ctl(["cache", ...admin]);
    assert.equal(list.code, 0, list.stderr);
    assert.match(list.stdout, /^Zone\s+Bytes\s+Entries\s+HitRatio/m);
    assert.match(list.stdout, /^main\s+\d+/m);
    const usage = await ctl(["cache", "purge", ...admin]);
    assert.equal(usage.code, 2);
  });

  it("exports hits, misses, bytes and evictions as metrics", async () => {
    const metrics = await adminCall(stack, "GET", "/metrics");
    const text = String(metrics.body);
    assert.match(text, /ballast_cache_requests_total\{zone="main",result="hits"\} [1-9]/);
    assert.match(text, /ballast_cache_requests_total\{zone="main",result="misses"\} [1-9]/);
    assert.match(text, /ballast_cache_served_bytes_total\{zone="main"\} [1-9]/);
    assert.match(text, /ballast_cache_evictions_total\{zone="main"\} 0/);
    assert.match(text, /ballast_cache_bytes\{zone="main"\} [1-9]/);
  });
});
