/**
 * `ballast start` names its process "ballast", so `kill -HUP $(pidof ballast)` works as
 * docs/operations.md says, and says at start that an admin API without a token is read-only.
 */
import assert from "node:assert/strict";
import { type ChildProcess, execFileSync, spawn } from "node:child_process";
import { once } from "node:events";
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { createInterface } from "node:readline";
import { after, it } from "node:test";
import { fileURLToPath } from "node:url";
import { requireProgram } from "../support/programs.js";

const cliPath = fileURLToPath(new URL("../../src/cli/main.js", import.meta.url));
const dir = mkdtempSync(join(tmpdir(), "ballast-title-"));
let child: ChildProcess | undefined;
after(() => {
  if (child?.exitCode === null) child.kill("SIGKILL");
  rmSync(dir, { recursive: true, force: true });
});

it("`pidof ballast` finds `ballast start`, whose log warns that the token-less admin API is read-only", async () => {
  const config = join(dir, "ballast.yaml");
  writeFileSync(
    config,
    `listeners:
  - { name: web, protocol: http, bind: "127.0.0.1:0", default_pool: api, access_log: false }
pools:
  api:
    backends: [{ address: "127.0.0.1:3001" }]
admin: { bind: "127.0.0.1:0" }
log: { level: info }
`,
  );
  child = spawn(process.execPath, [cliPath, "start", "--config", config], {
    stdio: ["ignore", "pipe", "pipe"],
  });
  const logs: { level?: number; msg?: string }[] = [];
  await new Promise<void>((resolve, reject) => {
    const timer = setTimeout(
      () => reject(new Error(`not started: ${JSON.stringify(logs)}`)),
      15_000,
    );
    createInterface({ input: child!.stdout! }).on("line", (line) => {
      try {
        logs.push(JSON.parse(line));
      } catch {
        logs.push({ msg: line });
      }
      if (line.includes("ballast started")) {
        clearTimeout(timer);
        resolve();
      }
    });
    child!.once("exit", (code) => {
      clearTimeout(timer);
      reject(new Error(`exited with ${code}: ${JSON.stringify(logs)}`));
    });
  });
  assert.equal(readFileSync(`/proc/${child.pid}/comm`, "utf8").trim(), "ballast");
  const pids = execFileSync(requireProgram("pidof"), ["ballast"], { encoding: "utf8" })
    .trim()
    .split(/\s+/);
  assert.ok(pids.includes(String(child.pid)), `pidof ballast: ${pids.join(" ")}`);

  const warning = logs.find((l) => /read-only/.test(l.msg ?? ""));
  assert.ok(warning, JSON.stringify(logs));
  assert.equal(warning.level, 40, "logged as a warning");
  assert.match(warning.msg ?? "", /admin\.token/);

  child.kill("SIGTERM");
  const [code] = await once(child, "exit");
  assert.equal(code, 0);
});
