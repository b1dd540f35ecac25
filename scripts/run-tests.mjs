#!/usr/bin/env node
// Runs every compiled test file under dist/test with node's own test runner.
// Node 20's `--test` does not expand globs, so the files are listed here.
// Usage: node scripts/run-tests.mjs [filter]   (filter: substring of the test path)
import { spawnSync } from "node:child_process";
import { readdirSync } from "node:fs";
import { join } from "node:path";

function walk(dir) {
  return readdirSync(dir, { withFileTypes: true }).flatMap((entry) => {
    const path = join(dir, entry.name);
    return entry.isDirectory() ? walk(path) : path.endsWith(".test.js") ? [path] : [];
  });
}

const filter = process.argv[2] ?? "";
const files = walk("dist/test")
  .filter((file) => file.includes(filter))
  .sort();
if (files.length === 0) {
  console.error(`no test files under dist/test match "${filter}"`);
  process.exit(1);
}
// A test, or a hook after it, that never settles fails after TEST_TIMEOUT_MS instead of
// holding the run; --test-force-exit ends a file whose tests are done but whose handles
// (a server, a child process) would keep it alive.
const TEST_TIMEOUT_MS = 180_000;
const result = spawnSync(
  process.execPath,
  [
    "--test",
    "--test-reporter=spec",
    `--test-timeout=${TEST_TIMEOUT_MS}`,
    "--test-force-exit",
    ...files,
  ],
  { stdio: "inherit" },
);
process.exit(result.status ?? 1);
