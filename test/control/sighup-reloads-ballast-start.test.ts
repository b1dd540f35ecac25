import assert from "node:assert/strict";
import { type ChildProcess, spawn } from "node:child_process";
import { resolve } from "node:path";
import { createInterface } from "node:readline";
import { test } from "node:test";
import { waitFor } from "../support/wait.js";
import { configFile, startBackends } from "./helpers.js";

const BALLAST = resolve(import.meta.dirname, "../../src/cli/main.js");

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

/** The JSON log lines of a running `ballast start`, as they arrive. */
function collectLogs(child: ChildProcess): Record<string, unknown>[] {
  const lines: Record<string, unknown>[] = [];
  createInterface({ input: child.stdout! }).on("line", (line) => {
    try {
      lines.push(JSON.parse(line));
    } catch {
      lines.push({ msg: line });
    }
  });
  return lines;
}

test("SIGHUP makes `ballast start` reload its file; a bad file is refused and the old config stays", async (t) => {
  const backends = await startBackends(2);
  const file = configFile(yaml(backends.slice(0, 1)));
  const child = spawn(process.execPath, [BALLAST, "start", "--config", file.path], {
    stdio: ["ignore", "pipe", "pipe"],
  });
  let exited: number | null | undefined;
  const exit = new Promise<number | null>((done) =>
    child.on("exit", (code) => {
      exited = code;
      done(code);
    }),
  );
  t.after(async () => {
    if (exited === undefined) {
      child.kill("SIGKILL");
      await exit;
    }
    file.cleanup();
    await Promise.all(backends.map((b) => b.close()));
  });
  const logs = collectLogs(child);
  const find = (msg: string) => logs.find((l) => l.msg === msg);
  const count = (msg: string) => logs.filter((l) => l.msg === msg).length;
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
  assert.equal(exited, undefined, "a bad file does not stop the balancer");
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
  assert.equal(await exit, 0, "a graceful stop exits 0");
});
