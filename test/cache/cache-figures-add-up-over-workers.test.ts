/**
 * With `workers: 2` each worker has its own cache zones and the primary serves nothing: the
 * admin API's `/api/caches` (what the dashboard shows per route) and the cache metrics are
 * the sum over the workers, so their totals equal the requests sent through both.
 */
import assert from "node:assert/strict";
import { writeFileSync } from "node:fs";
import { Agent, createServer, get, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { join } from "node:path";
import { after, before, describe, it } from "node:test";
import { type BallastProcess, startBallast } from "../support/ballast-start.js";
import { runCleanups } from "../support/cleanups.js";
import { freePort } from "../support/ports.js";
import { tempDir } from "../support/temp-dir.js";
import { waitFor } from "../support/wait.js";

const TOKEN = "cache-workers-token";

/** One request on a connection of its own, so the cluster deals it to the next worker. */
function fetchFresh(port: number, path: string): Promise<{ status: number; xCache: string }> {
  return new Promise((resolve, reject) => {
    const request = get({ host: "127.0.0.1", port, path, agent: new Agent() }, (response) => {
      response.resume();
      response.on("end", () =>
        resolve({
          status: response.statusCode ?? 0,
          xCache: String(response.headers["x-cache"]),
        }),
      );
    });
    request.setTimeout(10_000, () => request.destroy(new Error("timed out")));
    request.on("error", reject);
  });
}

interface ZoneView {
  name: string;
  entries: number;
  counters: { hits: number; misses: number };
  routes: { route: string; hits: number; misses: number; hitRatio: number }[];
}

describe("cache figures add up over workers", { timeout: 120_000 }, () => {
  const cleanups: (() => Promise<void> | void)[] = [];
  const dir = tempDir("cache-workers");
  cleanups.push(dir.cleanup);
  let ballast: BallastProcess;
  let backendRequests = 0;
  let port: number;
  let adminUrl: string;

  before(async () => {
    const backend: Server = createServer((req, res) => {
      req.resume();
      backendRequests++;
      res.setHeader("cache-control", "max-age=600");
      res.end("cached answer");
    });
    await new Promise<void>((resolve) => backend.listen(0, "127.0.0.1", resolve));
    cleanups.push(
      () =>
        new Promise<void>((resolve) => {
          backend.closeAllConnections();
          backend.close(() => resolve());
        }),
    );
    port = await freePort();
    adminUrl = `http://127.0.0.1:${await freePort()}`;
    const configPath = join(dir.path, "ballast.yaml");
    writeFileSync(
      configPath,
      `
workers: 2
log: { level: info }
admin: { bind: "127.0.0.1:${new URL(adminUrl).port}", token: "${TOKEN}" }
caches:
  z: { max_size: 1mb }
listeners:
  - name: web
    protocol: http
    bind: "127.0.0.1:${port}"
    access_log: false
    routes:
      - { name: pages, match: { path_prefix: / }, pool: app, cache: { zone: z } }
pools:
  app:
    backends: [{ address: "127.0.0.1:${(backend.address() as AddressInfo).port}" }]
`,
    );
    ballast = startBallast(configPath);
    cleanups.push(() => ballast.kill());
    await waitFor("both workers listening", () => ballast.count("listening") === 2, 20_000, 50);
  });

  after(() => runCleanups(cleanups));

  it("sums hits and misses of both workers in /api/caches and the metrics", async () => {
    const sent = 10;
    const results: string[] = [];
    for (let i = 0; i < sent; i++) {
      const reply = await fetchFresh(port, "/page");
      assert.equal(reply.status, 200);
      results.push(reply.xCache);
    }
    // Each worker's own zone missed once, then hit: two misses, both workers served.
    assert.equal(backendRequests, 2, results.join(" "));
    assert.equal(results.filter((x) => x === "MISS").length, 2);

    const response = await fetch(`${adminUrl}/api/caches`, {
      headers: { authorization: `Bearer ${TOKEN}` },
    });
    assert.equal(response.status, 200);
    const [zone] = (await response.json()) as ZoneView[];
    assert.equal(zone.name, "z");
    assert.equal(zone.counters.misses, 2);
    assert.equal(zone.counters.hits, sent - 2);
    assert.equal(zone.entries, 2, "one stored copy in each worker");
    const route = zone.routes.find((r) => r.route === "web/pages");
    assert.ok(route, JSON.stringify(zone.routes));
    assert.equal(route.hits + route.misses, sent);
    assert.equal(route.hitRatio, (sent - 2) / sent);

    const metrics = await (
      await fetch(`${adminUrl}/metrics`, { headers: { authorization: `Bearer ${TOKEN}` } })
    ).text();
    const value = (result: string) =>
      Number(
        metrics
          .split("\n")
          .find((line) =>
            line.startsWith(`ballast_cache_requests_total{zone="z",result="${result}"}`),
          )
          ?.split(" ")
          .at(-1),
      );
    assert.equal(value("hits"), sent - 2);
    assert.equal(value("misses"), 2);
  });
});
