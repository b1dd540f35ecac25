/**
 * RFC 9111 section 4.2: may a stored response answer this request now. The lifetime and age
 * come from http-cache-semantics; the request directives and the stale rules are applied
 * here, because the library refuses every must-revalidate response even while fresh.
 */
import { parseCacheControl, secondsOf } from "./cache-control.js";
import type { CachedResponse } from "./cached-response.js";

/**
 * `fresh`: answer from the cache. `stale-ok`: answer stale, the client allowed it
 * (max-stale). `revalidate-later`: answer stale and revalidate in the background
 * (stale-while-revalidate). `revalidate`: ask the backend first (conditionally).
 */
export type Verdict = "fresh" | "stale-ok" | "revalidate-later" | "revalidate";

/** Defaults of a route, used when the response itself says nothing. */
export interface StaleAllowance {
  /** Seconds a stale response may be served while it is revalidated in the background. */
  staleWhileRevalidate: number;
  /** Seconds a stale response may be served when the backend fails. */
  staleIfError: number;
}

/** The verdict for a request's headers on a stored response. */
export function evaluate(
  entry: CachedResponse,
  requestHeaders: Readonly<Record<string, string | string[] | undefined>>,
  allowance: StaleAllowance,
): Verdict {
  const age = ageSeconds(entry);
  const lifetime = entry.lifetime;
  const cacheControl = requestHeaders["cache-control"];
  const pragma = requestHeaders.pragma;
  if (cacheControl === undefined && pragma === undefined) {
    if (age < lifetime) return "fresh";
    return staleVerdict(entry, age, lifetime, allowance);
  }
  const directives = parseCacheControl(
    typeof cacheControl === "string" ? cacheControl : cacheControl?.join(","),
  );
  // RFC 9111 5.4: Pragma: no-cache counts only when Cache-Control is absent.
  if (directives.has("no-cache")) return "revalidate";
  if (cacheControl === undefined && /no-cache/i.test(String(pragma))) return "revalidate";
  const maxAge = secondsOf(directives, "max-age");
  if (maxAge !== undefined && age > maxAge) return "revalidate";
  const minFresh = secondsOf(directives, "min-fresh");
  if (minFresh !== undefined && lifetime - age < minFresh) return "revalidate";
  if (age < lifetime) return "fresh";
  if (entry.mustRevalidate) return "revalidate";
  const maxStale = directives.get("max-stale");
  if (maxStale === true) return "stale-ok";
  const staleFor = secondsOf(directives, "max-stale");
  if (staleFor !== undefined && age - lifetime <= staleFor) return "stale-ok";
  return staleVerdict(entry, age, lifetime, allowance);
}

function staleVerdict(
  entry: CachedResponse,
  age: number,
  lifetime: number,
  allowance: StaleAllowance,
): Verdict {
  if (entry.mustRevalidate) return "revalidate";
  const window = Math.max(entry.staleWhileRevalidate, allowance.staleWhileRevalidate);
  return window > 0 && age < lifetime + window ? "revalidate-later" : "revalidate";
}

/** True when a stale response may stand in for a failed backend (RFC 5861 stale-if-error). */
export function servesStaleOnError(entry: CachedResponse, allowance: StaleAllowance): boolean {
  if (entry.mustRevalidate) return false;
  const window = Math.max(entry.staleIfError, allowance.staleIfError);
  return window > 0 && ageSeconds(entry) < entry.lifetime + window;
}

/** The response's current age in seconds (RFC 9111 4.2.3), with fractions. */
export function ageSeconds(entry: CachedResponse, now = Date.now()): number {
  return (now - entry.bornAt) / 1000;
}
