import assert from "node:assert/strict";

import { test } from "node:test";
import { startBallast } from "../support/ballast-start.js";
import { waitFor } from "../support/wait.js";
import { configFile, startBackends } from "./helpers.js";

function yaml(backends: { name: string; address: string }[], weight = 1): string {
  return [
    "listeners:",
    '  - { name: web, protocol: http, bind: "127.0.0.1:0", default_pool: api, access_log: false }',
    "pools:",
    "  api:",
    "    backends:",
    ...backends.map(
      (b) => `      - { name: ${b.name}, address: "${b.address}", weight: ${weight} }`,
    ),
    'admin: { bind: "127.0.0.1:0", token: "hup" }',
    "log: { level: info }",
    "",
  ].join("\n");
}

test("SIGHUP makes `ballast start` reload its file; a bad file is refused and the old config stays", async (t) => {
  const backends = await startBackends(2);
  const file = configFile(yaml(backends.slice(0, 1)));
  const ballast = startBallast(file.path);
  const { child, find, count } = ballast;
  t.after(async () => {
    await ballast.kill();
    file.cleanup();
    await Promise.all(backends.map((b) => b.close()));
  });
  await waitFor("the admin API to listen", () => find("admin API listening") !== undefined, 10_000);
  const adminPort = find("admin API listening")!.port as number;
  const pools = async () => {
    const response = await fetch(`http://127.0.0.1:${adminPort}/api/pools`, {
      headers: { authorization: "Bearer hup" },
    });
    return (await response.json()) as { backends: { id: string; weight: number }[] }[];
  };
  assert.deepEqual(
    (await pools())[0].backends.map((b) => b.id),
    ["b1"],
  );

  file.write(yaml(backends.slice(0, 1)).replace("weight: 1", "weight: many"));
  child.kill("SIGHUP");
  await waitFor(
    "the bad file to be refused",
    () => find("reload refused: bad config") !== undefined,
  );
  assert.match(
    JSON.stringify(find("reload refused: bad config")),
    /pools\.api\.backends\[0\]\.weight/,
  );
  assert.equal(ballast.exitCode, undefined, "a bad file does not stop the balancer");
  assert.deepEqual(
    (await pools())[0].backends.map((b) => b.id),
    ["b1"],
  );

  file.write(yaml(backends, 3));
  child.kill("SIGHUP");
  await waitFor("the good file to be applied", () => count("config reloaded") === 1);
  const after = (await pools())[0].backends;
  assert.deepEqual(
    after.map((b) => [b.id, b.weight]),
    [
      ["b1", 3],
      ["b2", 3],
    ],
  );

  child.kill("SIGTERM");
  assert.equal(await ballast.exited, 0, "a graceful stop exits 0");
});
