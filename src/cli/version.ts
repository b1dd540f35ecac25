/** `ballast version`: the package version. */
import { readFileSync } from "node:fs";

/** The version from package.json (two levels above dist/src/cli and src/cli alike). */
export function packageVersion(): string {
  for (const relative of ["../../../package.json", "../../package.json"]) {
    try {
      const text = readFileSync(new URL(relative, import.meta.url), "utf8");
      const pkg = JSON.parse(text) as { name?: string; version?: string };
      if (pkg.name === "ballast" && pkg.version) return pkg.version;
    } catch {
      // Try the next layout.
    }
  }
  return "unknown";
}

/** Prints `ballast <version>` and the Node.js version. */
export function runVersion(): number {
  console.log(`ballast ${packageVersion()} (node ${process.version})`);
  return 0;
}
