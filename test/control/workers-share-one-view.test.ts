/**
 * `workers: 2` is one balancer: one admin API and `ctl` view whose numbers add up over both
 * workers, health checks that run once in the primary with verdicts both workers follow,
 * admin changes and reloads applied in both, and connection counts shared between them.
 */
import assert from "node:assert/strict";
import { readdirSync, readFileSync, writeFileSync } from "node:fs";
import { Agent, createServer, get, type Server, type ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";
import { join } from "node:path";
import { after, before, describe, it } from "node:test";
import { setTimeout as sleep } from "node:timers/promises";
import { ballastCtl } from "../support/ballast-cli.js";
import { type BallastProcess, startBallast } from "../support/ballast-start.js";
import { runCleanups } from "../support/cleanups.js";
import { freePort } from "../support/ports.js";
import { tempDir } from "../support/temp-dir.js";
import { waitFor } from "../support/wait.js";

const TOKEN = "workers-test-token";

/** A backend that answers with its name, counts health checks, and can hold requests. */
interface Backend {
  name: string;
  port: number;
  checks: number;
  served: number;
  held: ServerResponse[];
  hold: boolean;
  close(): Promise<void>;
}

async function startBackend(name: string): Promise<Backend> {
  const backend: Backend = {
    name,
    port: 0,
    checks: 0,
    served: 0,
    held: [],
    hold: false,
    close: async () => {
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
  const server: Server = createServer((req, res) => {
    req.resume();
    if (req.url === "/health") {
      backend.checks++;
      res.end("ok");
      return;
    }
    backend.served++;
    if (backend.hold) backend.held.push(res);
    else res.end(name);
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  backend.port = (server.address() as AddressInfo).port;
  return backend;
}

/** One request on a connection of its own, so the cluster deals it to the next worker. */
function fetchFresh(port: number, path = "/"): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    const request = get({ host: "127.0.0.1", port, path, agent: new Agent() }, (response) => {
      let body = "";
      response.setEncoding("utf8");
      response.on("data", (chunk) => {
        body += chunk;
      });
      response.on("end", () => resolve({ status: response.statusCode ?? 0, body }));
    });
    request.setTimeout(10_000, () => request.destroy(new Error("timed out")));
    request.on("error", reject);
  });
}

/** The processes whose parent is `pid` (the workers of a primary), from /proc. */
function childrenOf(pid: number): number[] {
  const children: number[] = [];
  for (const entry of readdirSync("/proc")) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      const stat = readFileSync(`/proc/${entry}/stat`, "utf8");
      // The parent's pid is the second field after the command name, which may hold spaces.
      if (Number(stat.slice(stat.lastIndexOf(")") + 2).split(" ")[1]) === pid) {
        children.push(Number(entry));
      }
    } catch {
      // exited meanwhile
    }
  }
  return children;
}

interface BackendJson {
  id: string;
  health: string;
  requests: number;
  picks: number;
  active: number;
  weight: number;
}

describe("workers: 2 share one view", { timeout: 120_000 }, () => {
  const cleanups: (() => Promise<void> | void)[] = [];
  const dir = tempDir("workers-view");
  cleanups.push(dir.cleanup);
  let ballast: BallastProcess;
  let a: Backend;
  let b: Backend;
  let checked: Backend;
  let d: Backend;
  let e: Backend;
  let webPort: number;
  let checkedPort: number;
  let lcPort: number;
  let adminUrl: string;
  let configPath: string;

  const configText = (webWeightB: number) => `
workers: 2
log: { level: info }
admin: { bind: "127.0.0.1:${new URL(adminUrl).port}", token: "${TOKEN}" }
listeners:
  - { name: web, protocol: http, bind: "127.0.0.1:${webPort}", default_pool: web, access_log: false, retries: { attempts: 0 } }
  - { name: checked, protocol: http, bind: "127.0.0.1:${checkedPort}", default_pool: checked, access_log: false }
  - { name: lc, protocol: http, bind: "127.0.0.1:${lcPort}", default_pool: lc, access_log: false }
pools:
  web:
    backends:
      - { name: a, address: "127.0.0.1:${a.port}" }
      - { name: b, address: "127.0.0.1:${b.port}", weight: ${webWeightB} }
    health_check: { type: http, path: /health, interval: 200ms, timeout: 1s, rise: 1, fall: 1 }
  checked:
    backends: [{ name: c, address: "127.0.0.1:${checked.port}" }]
    health_check: { type: http, path: /health, interval: 1h, initial_state: down, rise: 1 }
  lc:
    algorithm: lc
    backends:
      - { name: d, address: "127.0.0.1:${d.port}" }
      - { name: e, address: "127.0.0.1:${e.port}" }
`;

  /** The same balancer whose web listener answers by itself, for `ctl reload -f`. */
  const answeringConfig = () =>
    configText(3).replace(
      "default_pool: web, access_log: false,",
      'default_pool: web, routes: [{ match: {}, respond: { status: 200, body: "v2" } }], access_log: false,',
    );

  const ctl = async (...args: string[]) => {
    const result = await ballastCtl(["--admin", adminUrl, "--token", TOKEN, ...args]);
    assert.equal(result.code, 0, `ctl ${args.join(" ")}: ${result.stderr}`);
    return result.stdout;
  };
  /** The admin API's view of a pool (what `ctl list` prints), read directly while polling. */
  const backendsOf = async (pool: string): Promise<BackendJson[]> => {
    const response = await fetch(`${adminUrl}/api/pools`, {
      headers: { authorization: `Bearer ${TOKEN}` },
    });
    const pools = (await response.json()) as { name: string; backends: BackendJson[] }[];
    const found = pools.find((view) => view.name === pool);
    assert.ok(found, `no pool ${pool}`);
    return found.backends;
  };

  before(async () => {
    [a, b, checked, d, e] = await Promise.all(
      ["a", "b", "c", "d", "e"].map((name) => startBackend(name)),
    );
    for (const backend of [a, b, checked, d, e]) cleanups.push(() => backend.close());
    webPort = await freePort();
    checkedPort = await freePort();
    lcPort = await freePort();
    adminUrl = `http://127.0.0.1:${await freePort()}`;
    configPath = join(dir.path, "ballast.yaml");
    writeFileSync(configPath, configText(1));
    ballast = startBallast(configPath);
    cleanups.push(() => ballast.kill());
    // Three listeners in each of two workers.
    await waitFor("both workers listening", () => ballast.count("listening") === 6, 20_000, 50);
    await waitFor("the checked pool up", async () => {
      const [c] = await backendsOf("checked");
      return c.health === "up";
    });
  });

  after(() => runCleanups(cleanups));

  it("runs a pool's health check once, in the primary, not once per worker", async () => {
    for (let i = 0; i < 6; i++) {
      const reply = await fetchFresh(checkedPort);
      assert.equal(reply.status, 200);
    }
    // `initial_state: down` checks at once and then every hour: one checker, one check.
    assert.equal(checked.checks, 1);
  });

  it("shows one view in `ctl list` and /metrics whose numbers add up over both workers", async () => {
    const sent = 20;
    for (let i = 0; i < sent; i++) assert.equal((await fetchFresh(webPort)).status, 200);
    assert.equal(a.served + b.served, sent);
    await waitFor("ctl list to count every request", async () => {
      const backends = await backendsOf("web");
      return backends.reduce((sum, backend) => sum + backend.requests, 0) === sent;
    });
    const backends = JSON.parse(await ctl("--json", "list", "web"))[0].backends as BackendJson[];
    assert.equal(backends.find((x) => x.id === "a")?.requests, a.served);
    assert.equal(backends.find((x) => x.id === "b")?.requests, b.served);
    const metrics = await (
      await fetch(`${adminUrl}/metrics`, { headers: { authorization: `Bearer ${TOKEN}` } })
    ).text();
    const total = metrics
      .split("\n")
      .filter((line) => line.startsWith('ballast_backend_requests_total{pool="web"'))
      .reduce((sum, line) => sum + Number(line.split(" ").at(-1)), 0);
    assert.equal(total, sent);
    const listeners = JSON.parse(await ctl("--json", "listeners")) as { name: string }[];
    assert.deepEqual(listeners.map((listener) => listener.name).sort(), ["checked", "lc", "web"]);
  });

  it("applies `ctl weight` and `ctl drain` in both workers", async () => {
    await ctl("weight", "web", "a", "0");
    const before = a.served;
    for (let i = 0; i < 8; i++) assert.equal((await fetchFresh(webPort)).body, "b");
    assert.equal(a.served, before);
    await ctl("weight", "web", "a", "1");
    await ctl("drain", "web", "b");
    for (let i = 0; i < 8; i++) assert.equal((await fetchFresh(webPort)).body, "a");
    await ctl("enable", "web", "b");
    const seen = new Set<string>();
    for (let i = 0; i < 8; i++) seen.add((await fetchFresh(webPort)).body);
    assert.deepEqual([...seen].sort(), ["a", "b"]);
  });

  it("counts connections over both workers for least-connections", async () => {
    d.hold = true;
    e.hold = true;
    const first = fetchFresh(lcPort);
    await waitFor("the first request held", () => d.held.length + e.held.length === 1);
    await waitFor("the primary to count it", async () => {
      const backends = await backendsOf("lc");
      return backends.reduce((sum, backend) => sum + backend.active, 0) === 1;
    });
    // The other worker hears of it at the next exchange (every 100 ms).
    await sleep(400);
    const second = fetchFresh(lcPort);
    await waitFor("the second request held", () => d.held.length + e.held.length === 2);
    // Whichever worker took it, it saw the first one and chose the other backend.
    assert.deepEqual([d.held.length, e.held.length], [1, 1]);
    d.hold = false;
    e.hold = false;
    for (const response of [...d.held, ...e.held]) response.end("done");
    assert.equal((await first).status, 200);
    assert.equal((await second).status, 200);
  });

  it("reloads every worker without losing a request", async () => {
    let running = true;
    let failed = 0;
    let answered = 0;
    const load = (async () => {
      for (let i = 0; i < 5000 && running; i++) {
        const reply = await fetchFresh(webPort).catch(() => ({ status: 0, body: "" }));
        if (reply.status === 200) answered++;
        else failed++;
      }
    })();
    await waitFor("traffic flowing", () => answered > 5);
    writeFileSync(configPath, configText(3));
    const reply = JSON.parse(await ctl("--json", "reload")) as { notApplied: string[] };
    assert.deepEqual(reply.notApplied, []);
    const [before] = [answered];
    await waitFor("traffic after the reload", () => answered > before + 10);
    running = false;
    await load;
    assert.equal(failed, 0);
    const backends = await backendsOf("web");
    assert.equal(backends.find((x) => x.id === "b")?.weight, 3);
  });

  it("stops sending to a dead backend in both workers once the primary's check fails", async () => {
    await b.close();
    await waitFor("b down", async () => {
      const backends = await backendsOf("web");
      return backends.find((x) => x.id === "b")?.health === "down";
    });
    await sleep(300); // one count exchange, so the primary's numbers are current
    const picksBefore = (await backendsOf("web")).find((x) => x.id === "b")?.picks;
    for (let i = 0; i < 10; i++) assert.equal((await fetchFresh(webPort)).body, "a");
    await sleep(300);
    const picksAfter = (await backendsOf("web")).find((x) => x.id === "b")?.picks;
    assert.equal(picksAfter, picksBefore);
  });

  it("starts a worker that replaces a dead one from the running config, not the start file", async () => {
    const file = join(dir.path, "answering.yaml");
    writeFileSync(file, answeringConfig());
    await ctl("reload", "-f", file);
    for (let i = 0; i < 4; i++) assert.equal((await fetchFresh(webPort)).body, "v2");
    const pids = childrenOf(ballast.child.pid ?? 0);
    assert.equal(pids.length, 2, `workers: ${pids.join(", ")}`);
    const listeningBefore = ballast.count("listening");
    process.kill(pids[0], "SIGKILL");
    await waitFor(
      "a new worker listening",
      () => ballast.count("listening") >= listeningBefore + 3,
      20_000,
      50,
    );
    for (let i = 0; i < 8; i++) assert.equal((await fetchFresh(webPort)).body, "v2");
  });
});
