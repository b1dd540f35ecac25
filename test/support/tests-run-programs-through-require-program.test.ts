/**
 * No test runs an external program by its bare name: each goes through requireProgram(),
 * so a missing one fails with its name and the install command instead of a spawn ENOENT.
 */
import assert from "node:assert/strict";
import { readdirSync, readFileSync } from "node:fs";
import { dirname, join, relative } from "node:path";
import { it } from "node:test";
import { fileURLToPath } from "node:url";

// Compiled to dist/test/support/: the sources are in test/ at the repository's root.
const root = join(dirname(fileURLToPath(import.meta.url)), "..", "..", "..");

function sources(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((entry) => {
    const path = join(dir, entry.name);
    if (entry.isDirectory()) return sources(path);
    return entry.name.endsWith(".ts") ? [path] : [];
  });
}

/** A call that starts a process, with a string literal as the program. */
const BARE_PROGRAM =
  /\b(spawn|spawnSync|execFile|execFileSync|exec|execSync|startDaemon)\(\s*["'`]([^"'`]+)["'`]/g;
/** The same for run() of support/daemon.ts (other files' run() wrap the ballast CLI). */
const BARE_RUN = /\b(run)\(\s*["'`]([^"'`]+)["'`]/g;

it("every program a test starts is found through requireProgram, never by a bare name", () => {
  const found: string[] = [];
  for (const file of sources(join(root, "test"))) {
    const text = readFileSync(file, "utf8");
    const runsDaemons = /from "(\.\.\/support|\.)\/daemon\.js"/.test(text);
    const calls = [...text.matchAll(BARE_PROGRAM), ...(runsDaemons ? text.matchAll(BARE_RUN) : [])];
    for (const match of calls) {
      const line = text.slice(0, match.index).split("\n").length;
      found.push(`${relative(root, file)}:${line}: ${match[1]}("${match[2]}", ...)`);
    }
  }
  assert.deepEqual(
    found,
    [],
    `use requireProgram(name) from test/support/programs.ts:\n${found.join("\n")}`,
  );
});
