/**
 * `ballast/client` is a separate entry point: everything it loads is the client itself, the
 * pool and the algorithms — no registry server, admin API, runtime, config or data plane.
 */
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { dirname, relative, resolve } from "node:path";
import { test } from "node:test";
import { fileURLToPath } from "node:url";

const root = resolve(dirname(fileURLToPath(import.meta.url)), "../../..");
const IMPORT = /(?:^|\n)\s*(?:import|export)[^;]*?from\s+"(\.{1,2}\/[^"]+)"/g;

test("the client entry point loads no server code", () => {
  const pkg = JSON.parse(readFileSync(resolve(root, "package.json"), "utf8"));
  const entry = resolve(root, pkg.exports["./client"].default);
  const seen = new Set<string>();
  const queue = [entry];
  while (queue.length > 0) {
    const file = queue.pop()!;
    if (seen.has(file)) continue;
    seen.add(file);
    for (const match of readFileSync(file, "utf8").matchAll(IMPORT)) {
      queue.push(resolve(dirname(file), match[1]));
    }
  }
  const outside = [...seen]
    .map((file) => relative(resolve(root, "dist/src"), file))
    .filter((file) => !/^(registry\/client|pool|balancer)\//.test(file));
  assert.deepEqual(outside, []);
  assert.ok(seen.size > 5, `only ${seen.size} files reached from ${entry}`);
});
