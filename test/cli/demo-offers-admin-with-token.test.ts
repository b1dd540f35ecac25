/**
 * `ballast demo` starts an admin API on loopback with a generated token and prints how to use
 * it with `ballast ctl` and the dashboard; its process is named "ballast".
 */
import assert from "node:assert/strict";
import { type ChildProcess, spawn } from "node:child_process";
import { once } from "node:events";
import { readFileSync } from "node:fs";
import { after, it } from "node:test";
import { fileURLToPath } from "node:url";
import { ballastCtl } from "../support/ballast-cli.js";

const cliPath = fileURLToPath(new URL("../../src/cli/main.js", import.meta.url));
let child: ChildProcess | undefined;
after(() => {
  if (child?.exitCode === null) child.kill("SIGKILL");
});

it("prints an admin URL and token that `ballast ctl` and the dashboard accept", async () => {
  child = spawn(process.execPath, [cliPath, "demo", "--port", "0", "--admin-port", "0"], {
    stdio: ["ignore", "pipe", "pipe"],
  });
  let output = "";
  await new Promise<void>((resolve, reject) => {
    const timer = setTimeout(
      () => reject(new Error(`no instructions after 15 s: ${output}`)),
      15_000,
    );
    child!.stdout?.on("data", (chunk: Buffer) => {
      output += chunk.toString();
      if (/Ctrl-C stops/.test(output)) {
        clearTimeout(timer);
        resolve();
      }
    });
    child!.once("exit", (code) => {
      clearTimeout(timer);
      reject(new Error(`demo exited with ${code}: ${output}`));
    });
  });
  const command = /ballast ctl --admin (http:\/\/127\.0\.0\.1:\d+) --token (\S+) list/.exec(output);
  assert.ok(command, output);
  const [, admin, token] = command;
  assert.match(token, /^[A-Za-z0-9_-]{32,}$/, "a generated token of at least 24 random bytes");
  assert.ok(
    output.includes(`${admin}/#token=${token}`),
    `the dashboard link is printed: ${output}`,
  );

  const list = await ballastCtl(["--admin", admin, "--token", token, "list"]);
  assert.equal(list.code, 0, list.stderr);
  assert.match(list.stdout, /^Pool weighted wrr$/m);
  const disabled = await ballastCtl([
    "--admin",
    admin,
    "--token",
    token,
    "disable",
    "weighted",
    "slow",
  ]);
  assert.equal(disabled.code, 0, disabled.stderr);
  const anonymous = await ballastCtl(["--admin", admin, "list"]);
  assert.equal(anonymous.code, 1);
  assert.match(anonymous.stderr, /HTTP 401/);

  const page = await fetch(`${admin}/`);
  assert.equal(page.status, 200);
  assert.match(await page.text(), /<title>ballast<\/title>/);

  // pidof and ps find the demo by the name "ballast", not "node".
  assert.equal(readFileSync(`/proc/${child.pid}/comm`, "utf8").trim(), "ballast");

  child.kill("SIGTERM");
  const [code] = await once(child, "exit");
  assert.equal(code, 0);
});
