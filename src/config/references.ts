/**
 * Pool references checked on the raw document. The schema checks them too, but only once
 * everything else is valid; checking here as well lets one run report every mistake.
 */
import type { ConfigIssue } from "./errors.js";
import { formatPath } from "./errors.js";

/** Issues for every listener or route that names a pool the document does not define. */
export function unknownPoolReferences(document: unknown, file: string): ConfigIssue[] {
  if (!isRecord(document) || !isRecord(document.pools) || !Array.isArray(document.listeners)) {
    return [];
  }
  const known = Object.keys(document.pools);
  const issues: ConfigIssue[] = [];
  const check = (name: unknown, path: (string | number)[]) => {
    if (typeof name !== "string" || known.includes(name)) return;
    issues.push({
      file,
      path: formatPath(path),
      problem: `unknown pool "${name}"`,
      expected: `defined pools: ${known.join(", ") || "(none)"}`,
    });
  };
  document.listeners.forEach((listener: unknown, i) => {
    if (!isRecord(listener)) return;
    if (listener.protocol === "dns") return; // checked with the rest of the dns section
    if (listener.protocol !== "http") {
      check(listener.pool, ["listeners", i, "pool"]);
      return;
    }
    check(listener.default_pool, ["listeners", i, "default_pool"]);
    if (!Array.isArray(listener.routes)) return;
    listener.routes.forEach((route: unknown, j) => {
      if (isRecord(route)) check(route.pool, ["listeners", i, "routes", j, "pool"]);
    });
  });
  return issues;
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === "object" && value !== null && !Array.isArray(value);
}
