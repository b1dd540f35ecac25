import assert from "node:assert/strict";
import { truncateSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { after, before, describe, it } from "node:test";
import { fetchText, startBackend, type TestBackend } from "../http/helpers.js";
import { type BallastProcess, startBallast } from "../support/ballast-start.js";
import { tempDir } from "../support/temp-dir.js";
import { waitFor } from "../support/wait.js";
import { fileOfKey, storedFiles } from "./helpers.js";

describe("disk store survives a restart", () => {
  const dir = tempDir("cache-disk");
  const cacheFolder = join(dir.path, "cache");
  const configPath = join(dir.path, "ballast.yaml");
  let backend: TestBackend;
  let ballast: BallastProcess | undefined;
  const bodies = new Map<string, string>();

  /** Starts ballast on the file and waits for its listener and its loaded disk store. */
  async function start(): Promise<{ port: number; loaded: Record<string, unknown> }> {
    const running = startBallast(configPath);
    ballast = running;
    await waitFor("the disk store to load", () => {
      if (running.exitCode !== undefined) throw new Error(JSON.stringify(running.logs));
      return (
        running.find("cache disk store loaded") !== undefined &&
        running.find("listening") !== undefined
      );
    });
    return {
      port: running.find("listening")!.port as number,
      loaded: running.find("cache disk store loaded")!,
    };
  }

  before(async () => {
    backend = await startBackend("b", (req, res) => {
      req.resume();
      // 300 KB of text that differs per URL, so a mixed-up file would show.
      const body = `${req.url} `.repeat(60_000).slice(0, 300_000);
      bodies.set(req.url ?? "", body);
      res.writeHead(200, { "cache-control": "max-age=3600", "content-type": "text/plain" });
      res.end(body);
    });
    writeFileSync(
      configPath,
      [
        "caches:",
        "  main:",
        `    disk: { path: "${cacheFolder}", max_size: 10mb, min_object_size: 100kb }`,
        "listeners:",
        '  - { name: web, protocol: http, bind: "127.0.0.1:0", access_log: false,',
        "      routes: [{ match: { path_prefix: / }, pool: app, cache: { zone: main } }] }",
        "pools:",
        `  app: { backends: [{ name: b, address: "127.0.0.1:${backend.port}" }] }`,
        'admin: { bind: "127.0.0.1:0", token: "disk-test" }',
        "log: { level: info }",
        "",
      ].join("\n"),
    );
  });

  after(async () => {
    await ballast?.kill();
    await backend.close();
    dir.cleanup();
  });

  it("answers a response stored on disk as a HIT after ballast restarts, and a truncated file as a MISS", async () => {
    let { port } = await start();
    for (const path of ["/kept", "/cut"]) {
      const miss = await fetchText(port, path);
      assert.equal(miss.headers["x-cache"], "MISS");
      assert.equal(miss.body, bodies.get(path));
      const hit = await fetchText(port, path);
      assert.equal(hit.headers["x-cache"], "HIT");
      assert.equal(hit.body, bodies.get(path));
    }
    assert.equal(storedFiles(cacheFolder).length, 2, "each response is one file");
    // A crash: no graceful stop, nothing written at exit.
    await ballast!.kill();
    // Cut one file in the middle of its body, as a full disk or a crash of the machine would.
    const cut = fileOfKey(cacheFolder, "127.0.0.1/cut");
    assert.ok(cut !== undefined, "the file of /cut is found");
    truncateSync(cut, 150_000);

    const restarted = await start();
    port = restarted.port;
    assert.equal(restarted.loaded.loaded, 1);
    assert.equal(restarted.loaded.dropped, 1);
    await waitFor("the admin API", () => ballast?.find("admin API listening") !== undefined);
    const metrics = await fetch(
      `http://127.0.0.1:${ballast!.find("admin API listening")!.port}/metrics`,
      { headers: { authorization: "Bearer disk-test" } },
    );
    const text = await metrics.text();
    assert.match(text, /ballast_cache_disk_entries\{zone="main"\} 1\n/);
    const bytes = /ballast_cache_disk_bytes\{zone="main"\} (\d+)/.exec(text);
    // The one file left: its 300,000-byte body and its head.
    assert.ok(bytes && Number(bytes[1]) > 300_000 && Number(bytes[1]) < 310_000, bytes?.[0]);
    const seenBefore = backend.seen.length;
    const hit = await fetchText(port, "/kept");
    assert.equal(hit.headers["x-cache"], "HIT", "the file outlived the restart");
    assert.equal(hit.body, bodies.get("/kept"));
    assert.equal(backend.seen.length, seenBefore, "the backend was not asked");
    const miss = await fetchText(port, "/cut");
    assert.equal(miss.headers["x-cache"], "MISS", "a truncated file is never served");
    assert.equal(miss.body, bodies.get("/cut"));
    assert.equal(backend.seen.length, seenBefore + 1);
  });
});
