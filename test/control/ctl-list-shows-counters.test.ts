import assert from "node:assert/strict";
import { test } from "node:test";
import { ballastCtl } from "../support/ballast-cli.js";
import { httpConfigYaml, type Stack, startBackends, startStack } from "./helpers.js";

/** The Requests column of a backend's line in `ctl list`. */
function requestsOf(table: string, backend: string): number {
  const line = table.split("\n").find((l) => l.trimStart().startsWith(`-> ${backend} `));
  assert.ok(line, `no line for ${backend} in:\n${table}`);
  const cells = line.trim().split(/\s+/);
  return Number(cells[cells.length - 2]);
}

async function traffic(stack: Stack, count: number): Promise<void> {
  for (let i = 0; i < count; i++) {
    const response = await fetch(`${stack.webUrl}/`);
    assert.equal(response.status, 200);
    await response.text();
  }
}

test("`ballast ctl list` prints the ipvsadm-style table and its counters move with traffic", async (t) => {
  const backends = await startBackends(2);
  const stack = await startStack(
    httpConfigYaml({ pools: { api: { backends } }, defaultPool: "api" }),
    { token: "tok", rateIntervalMs: 100 },
  );
  t.after(async () => {
    await stack.stop();
    await Promise.all(backends.map((b) => b.close()));
  });
  const admin = ["--admin", stack.adminUrl, "--token", "tok"];

  await traffic(stack, 4);
  const first = await ballastCtl(["list", ...admin]);
  assert.equal(first.code, 0, first.stderr);
  assert.match(first.stdout, /^Pool api rr$/m);
  assert.match(
    first.stdout,
    /-> Backend\s+Address\s+Weight\s+ActiveConn\s+InActConn\s+Health\s+State\s+Req\/s/,
  );
  assert.equal(requestsOf(first.stdout, "b1") + requestsOf(first.stdout, "b2"), 4);

  await traffic(stack, 6);
  // The environment variables work as well as the flags.
  const second = await ballastCtl(["list"], {
    BALLAST_ADMIN: stack.adminUrl,
    BALLAST_ADMIN_TOKEN: "tok",
  });
  assert.equal(second.code, 0, second.stderr);
  assert.equal(requestsOf(second.stdout, "b1") + requestsOf(second.stdout, "b2"), 10);

  // Requests/s comes from counter deltas: with traffic running, a sample soon shows it.
  let running = true;
  const background = (async () => {
    for (let i = 0; i < 20_000 && running; i++) await traffic(stack, 1);
  })();
  let rate = 0;
  for (let i = 0; i < 20 && rate === 0; i++) {
    const json = await ballastCtl(["list", "api", "--json", ...admin]);
    assert.equal(json.code, 0, json.stderr);
    const [view] = JSON.parse(json.stdout);
    rate = view.backends.reduce(
      (sum: number, b: { requestsPerSecond: number }) => sum + b.requestsPerSecond,
      0,
    );
  }
  running = false;
  await background;
  assert.ok(rate > 0, "requests/s moved");
});

test("`ballast ctl` changes backends like ipvsadm -a/-e/-d, with clear errors and exit codes", async (t) => {
  const backends = await startBackends(3);
  const stack = await startStack(
    httpConfigYaml({ pools: { api: { backends: backends.slice(0, 2) } }, defaultPool: "api" }),
    { token: "tok" },
  );
  t.after(async () => {
    await stack.stop();
    await Promise.all(backends.map((b) => b.close()));
  });
  const admin = ["--admin", stack.adminUrl, "--token", "tok"];
  const pool = stack.runtime.pools.get("api")!;

  const added = await ballastCtl([
    "add",
    "api",
    backends[2].address,
    "--name",
    "b3",
    "-w",
    "2",
    ...admin,
  ]);
  assert.equal(added.code, 0, added.stderr);
  assert.match(added.stdout, /added b3/);
  assert.equal(pool.get("b3")?.configuredWeight, 2);

  assert.equal((await ballastCtl(["weight", "api", "b3", "5", ...admin])).code, 0);
  assert.equal(pool.get("b3")?.configuredWeight, 5);
  assert.equal((await ballastCtl(["disable", "api", "b1", ...admin])).code, 0);
  assert.equal(pool.get("b1")?.enabled, false);
  assert.equal((await ballastCtl(["enable", "api", "b1", ...admin])).code, 0);
  assert.equal((await ballastCtl(["drain", "api", "b2", ...admin])).code, 0);
  assert.equal(pool.get("b2")?.draining, true);
  const removed = await ballastCtl(["remove", "api", "b3", "--json", ...admin]);
  assert.equal(removed.code, 0);
  assert.equal(JSON.parse(removed.stdout).removed, "b3");
  assert.equal(pool.get("b3"), undefined);

  const registered = await ballastCtl([
    "register",
    "api",
    backends[2].address,
    "--name",
    "beat",
    "--ttl",
    "30s",
    ...admin,
  ]);
  assert.equal(registered.code, 0, registered.stderr);
  assert.match(registered.stdout, /registered beat in pool api until/);
  assert.equal(pool.get("beat")?.source, "registry");
  const renewed = await ballastCtl(["renew", "api", "beat", ...admin]);
  assert.equal(renewed.code, 0, renewed.stderr);
  assert.match(renewed.stdout, /renewed beat/);

  const reload = await ballastCtl(["reload", ...admin]);
  assert.equal(reload.code, 0, reload.stderr);
  assert.match(reload.stdout, /reloaded/);

  const refused = await ballastCtl(["weight", "api", "nope", "3", ...admin]);
  assert.equal(refused.code, 1);
  assert.match(refused.stderr, /no backend "nope" in pool "api" \(HTTP 404\)/);
  const noToken = await ballastCtl(["list", "--admin", stack.adminUrl]);
  assert.equal(noToken.code, 1);
  assert.match(noToken.stderr, /HTTP 401/);
  const usage = await ballastCtl(["weight", "api", "b1", "heavy", ...admin]);
  assert.equal(usage.code, 2);
  assert.match(usage.stderr, /WEIGHT must be a whole number/);
  const unknown = await ballastCtl(["frobnicate", ...admin]);
  assert.equal(unknown.code, 2);
  const unreachable = await ballastCtl(["list", "--admin", "http://127.0.0.1:1"]);
  assert.equal(unreachable.code, 3);
  assert.match(unreachable.stderr, /cannot reach the admin API at http:\/\/127\.0\.0\.1:1/);
});
