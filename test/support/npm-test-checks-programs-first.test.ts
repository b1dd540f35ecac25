/**
 * `npm test` checks for the programs the tests start before it builds anything
 * (scripts/check-system-programs.mjs): as root on Debian it installs the missing ones with
 * scripts/install-system-packages.sh; otherwise it stops with one line naming what is missing
 * and the command that installs it. A machine without the packages is simulated with
 * BALLAST_PRETEND_MISSING and a PATH that holds only node; "not root" by running as nobody.
 */
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { chmodSync, copyFileSync, mkdirSync, readFileSync, symlinkSync } from "node:fs";
import { dirname, join } from "node:path";
import { describe, it } from "node:test";
import { fileURLToPath } from "node:url";
import { findProgram, PROGRAM_PACKAGES, requireProgram } from "./programs.js";
import { tempDir } from "./temp-dir.js";

// Compiled to dist/test/support/: the repository's root is three levels up.
const root = join(dirname(fileURLToPath(import.meta.url)), "..", "..", "..");
const asRoot = process.getuid?.() === 0;
const SCRIPTS = ["check-system-programs.mjs", "system-programs.mjs", "install-system-packages.sh"];
const LINE_START = "the tests need programs that are not installed: ";

interface Ran {
  status: number | null;
  stdout: string;
  stderr: string;
}

/**
 * Runs the preflight from a copy of the scripts readable by anyone, as nobody when this runs
 * as root (as this user otherwise), with `env` as its whole environment.
 */
function preflightAsUser(env: NodeJS.ProcessEnv, t: { after(fn: () => void): void }): Ran {
  const dir = tempDir("preflight");
  t.after(dir.cleanup);
  chmodSync(dir.path, 0o755);
  mkdirSync(join(dir.path, "scripts"));
  for (const script of SCRIPTS) {
    copyFileSync(join(root, "scripts", script), join(dir.path, "scripts", script));
  }
  const script = join(dir.path, "scripts", "check-system-programs.mjs");
  const [command, args] = asRoot
    ? [requireProgram("runuser"), ["-u", "nobody", "--", process.execPath, script]]
    : [process.execPath, [script]];
  return spawnSync(command, args, { cwd: dir.path, env, encoding: "utf8", timeout: 30_000 });
}

/** Runs the repository's own preflight as this user with `env` added. */
function preflight(env: NodeJS.ProcessEnv): Ran {
  return spawnSync(process.execPath, [join(root, "scripts", "check-system-programs.mjs")], {
    cwd: root,
    env: { ...process.env, ...env },
    encoding: "utf8",
    timeout: 30_000,
  });
}

/** A folder holding only a link to node: a PATH on which no system program is found. */
function pathWithOnlyNode(t: { after(fn: () => void): void }): string {
  const dir = tempDir("only-node");
  t.after(dir.cleanup);
  chmodSync(dir.path, 0o755);
  symlinkSync(process.execPath, join(dir.path, "node"));
  return dir.path;
}

/** The Debian packages in install-system-packages.sh's `packages=( ... )` list. */
function installedByScript(): Set<string> {
  const text = readFileSync(join(root, "scripts", "install-system-packages.sh"), "utf8");
  const list = /^packages=\(\n([\s\S]*?)\n\)/m.exec(text);
  assert.ok(list, "install-system-packages.sh has no packages=( ... ) list");
  const words = list[1]
    .split("\n")
    .map((line) => line.replace(/#.*/, ""))
    .join(" ")
    .split(/\s+/)
    .filter(Boolean);
  return new Set(words);
}

describe("npm test checks the programs the tests start, before anything else", () => {
  it("runs the preflight first, before the build and the suite", () => {
    const scripts = JSON.parse(readFileSync(join(root, "package.json"), "utf8")).scripts;
    assert.match(scripts.test, /^node scripts\/check-system-programs\.mjs && /);
  });

  it("names, for every program, a package that install-system-packages.sh installs", () => {
    const packages = installedByScript();
    for (const [program, pkg] of Object.entries(PROGRAM_PACKAGES)) {
      assert.ok(packages.has(pkg), `${program}'s package ${pkg} is not in the install script`);
    }
  });

  it("passes quietly when every program is installed", () => {
    const ran = preflight({});
    assert.equal(ran.status, 0, ran.stderr);
    assert.equal(ran.stdout + ran.stderr, "");
  });

  it("not as root: one line naming the missing programs, their packages and the install command", (t) => {
    const ran = preflightAsUser(
      { PATH: process.env.PATH, BALLAST_PRETEND_MISSING: "nginx,redis-server" },
      t,
    );
    assert.equal(ran.status, 1, ran.stderr);
    assert.equal(ran.stdout, "");
    const lines = ran.stderr.split("\n").filter(Boolean);
    assert.equal(lines.length, 1, ran.stderr);
    assert.ok(
      lines[0].startsWith(
        `${LINE_START}nginx (nginx-light), redis-server (redis-server); install them with: sudo bash scripts/install-system-packages.sh`,
      ),
      lines[0],
    );
  });

  it("on a PATH without the programs, not as root: the same one line, and no install", (t) => {
    const ran = preflightAsUser({ PATH: pathWithOnlyNode(t) }, t);
    assert.equal(ran.status, 1, ran.stderr);
    const lines = ran.stderr.split("\n").filter(Boolean);
    assert.equal(lines.length, 1, ran.stderr);
    assert.ok(lines[0].startsWith(LINE_START), lines[0]);
    // wrk and redis-cli live in /usr/bin, which that PATH lacks.
    assert.match(lines[0], /wrk \(wrk\)/);
    assert.match(lines[0], /redis-cli \(redis-tools\)/);
    assert.match(lines[0], /install them with: .*bash scripts\/install-system-packages\.sh/);
  });

  it("as root with apt-get: runs install-system-packages.sh, then checks again", {
    skip: !(asRoot && findProgram("apt-get")) && "needs root and apt-get",
  }, () => {
    const ran = preflight({ BALLAST_PRETEND_MISSING: "wrk", BALLAST_INSTALL_DRY_RUN: "1" });
    assert.equal(ran.status, 1, "wrk still counts as missing after the (dry) install");
    assert.deepEqual(ran.stderr.split("\n").filter(Boolean), [
      "installing the Debian packages of: wrk",
      "dry run: would run bash scripts/install-system-packages.sh",
      `${LINE_START}wrk (wrk); install them with: bash scripts/install-system-packages.sh`,
    ]);
  });

  it("npm test stops at the preflight: nothing is built and no test runs", () => {
    // Without the preflight first, `npm test` would run this very suite again: stop here.
    const scripts = JSON.parse(readFileSync(join(root, "package.json"), "utf8")).scripts;
    assert.match(scripts.test, /^node scripts\/check-system-programs\.mjs && /);
    // Under `npm test`, npm names its own script; else npm is installed beside node.
    const npmCli = process.env.npm_execpath;
    const [npm, args] = npmCli?.endsWith(".js")
      ? [process.execPath, [npmCli, "test"]]
      : [join(dirname(process.execPath), "npm"), ["test"]];
    const ran = spawnSync(npm, args, {
      cwd: root,
      env: {
        ...process.env,
        BALLAST_PRETEND_MISSING: "wrk",
        BALLAST_INSTALL_DRY_RUN: "1",
        npm_config_update_notifier: "false",
      },
      encoding: "utf8",
      timeout: 60_000,
    });
    const output = ran.stdout + ran.stderr;
    assert.notEqual(ran.status, 0, output);
    assert.match(output, /wrk \(wrk\)/);
    assert.doesNotMatch(output, /> [\w@.-]+ build\b/, "the build did not start");
    assert.doesNotMatch(output, /ℹ tests \d+/, "the suite did not run");
  });
});
