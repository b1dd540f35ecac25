/**
 * DESIGN.md's rule of one-way dependencies, checked on the source: each folder of src/ may
 * import only the folders below it. A new import that points upwards fails here.
 */
import assert from "node:assert/strict";
import { readdirSync, readFileSync } from "node:fs";
import { dirname, join, relative, resolve, sep } from "node:path";
import { describe, it } from "node:test";
import { fileURLToPath } from "node:url";

const srcRoot = resolve(dirname(fileURLToPath(import.meta.url)), "../../../src");

// Data planes choose backends only through pools (Pool.select): never an algorithm directly.
const DATA_PLANE = ["pool", "config", "net", "security", "log", "cache"];
const BELOW_RUNTIME = ["balancer", "pool", "config", "net", "security", "log", "health", "cache"];

/** Folder (or top-level file) → what it may import besides itself. */
const allowed: Record<string, readonly string[]> = {
  balancer: [],
  security: [],
  log: [],
  cache: [],
  config: ["balancer"],
  pool: ["balancer"],
  net: ["config", "log", "pool", "cache"],
  health: ["balancer", "pool", "config", "log"],
  http: DATA_PLANE,
  tcp: DATA_PLANE,
  udp: DATA_PLANE,
  dns: DATA_PLANE,
  kernel: ["balancer", "pool", "config", "net", "log"],
  registry: ["balancer", "pool", "config", "net", "log", "health"],
  sim: ["balancer", "pool"],
  runtime: [...BELOW_RUNTIME, "http", "tcp", "udp", "dns", "kernel", "registry"],
  admin: [...BELOW_RUNTIME, "http", "tcp", "udp", "runtime", "registry"],
  cli: [...BELOW_RUNTIME, "http", "tcp", "udp", "runtime", "admin", "registry", "sim"],
  index: ["balancer", "pool", "config", "health", "runtime", "log", "net", "security", "sim"],
};

function sourceFiles(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((entry) => {
    const path = join(dir, entry.name);
    if (entry.isDirectory()) return sourceFiles(path);
    return path.endsWith(".ts") ? [path] : [];
  });
}

/** The layer of a file: its first folder under src/, or its name for top-level files. */
function layerOf(file: string): string {
  const [first, ...rest] = relative(srcRoot, file).split(sep);
  return rest.length === 0 ? first.replace(/\.ts$/, "") : first;
}

const IMPORT = /(?:^|\n)\s*(?:import|export)[^;]*?from\s+"(\.{1,2}\/[^"]+)"/g;

describe("layers import only downwards", () => {
  const files = sourceFiles(srcRoot);

  it("finds the source tree", () => {
    assert.ok(files.length > 50, `only ${files.length} files under ${srcRoot}`);
  });

  it("every relative import stays within the allowed layers", () => {
    const violations: string[] = [];
    for (const file of files) {
      const from = layerOf(file);
      const permitted = allowed[from];
      if (permitted === undefined) {
        violations.push(`${relative(srcRoot, file)}: layer "${from}" is not in the table`);
        continue;
      }
      for (const match of readFileSync(file, "utf8").matchAll(IMPORT)) {
        const target = layerOf(resolve(dirname(file), match[1]).replace(/\.js$/, ".ts"));
        if (target !== from && !permitted.includes(target)) {
          violations.push(`${relative(srcRoot, file)} imports ${match[1]} (${from} → ${target})`);
        }
      }
    }
    assert.deepEqual(violations, []);
  });
});
