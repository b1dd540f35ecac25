/**
 * Session persistence by cookie insertion, as HAProxy's `cookie SRV insert indirect nocache`:
 * the balancer names the chosen backend in a cookie, honours it while that backend is
 * available, and picks (and names) another one when it is not. The cookie value is the
 * pool's opaque token of the backend (pool/sticky-tokens.ts), never its address.
 *
 * How the data plane uses it, per request of a pool with `sticky`:
 *   selection = pool.select({ key, pinned: stickyBackendOf(req, pool, pool.sticky) });
 *   if the backend chosen is not the pinned one, set `Set-Cookie: stickyCookie(...)` and
 *     `Cache-Control: private` (nocache: a shared cache must not hand the cookie to others);
 *   `Cookie` sent upstream: withoutCookie(value, sticky.cookie) (indirect: the backend never
 *     sees the balancer's cookie).
 */
import type { IncomingMessage } from "node:http";
import type { BackendState } from "../pool/backend.js";
import type { Pool, StickySettings } from "../pool/pool.js";
import { stickyToken } from "../pool/sticky-tokens.js";
import { requestCookie } from "./hash-key.js";

export { stickyToken };

/**
 * The backend the request's sticky cookie names, when it is in `pool` and available; else
 * undefined (no cookie, an unknown value, or a backend that is down, disabled or draining),
 * and the caller picks a new one. A backend of weight 0 still takes its sticky clients, as
 * HAProxy's drain state does: weight 0 refuses new sessions, not existing ones.
 */
export function stickyBackendOf(
  req: IncomingMessage,
  pool: Pool,
  sticky: StickySettings,
): BackendState | undefined {
  const token = requestCookie(req.rawHeaders, sticky.cookie);
  if (token === undefined) return undefined;
  const backend = pool.stickyBackend(token);
  return backend?.available && !backend.overloaded ? backend : undefined;
}

/** The Set-Cookie value naming `backend`: Path=/, plus Max-Age, HttpOnly and Secure per config. */
export function stickyCookie(backend: BackendState, sticky: StickySettings): string {
  let cookie = `${sticky.cookie}=${stickyToken(backend)}; Path=/`;
  // Max-Age is in seconds; a config without max_age gives a session cookie.
  if (sticky.maxAgeMs !== undefined) cookie += `; Max-Age=${Math.floor(sticky.maxAgeMs / 1000)}`;
  if (sticky.httpOnly) cookie += "; HttpOnly";
  if (sticky.secure) cookie += "; Secure";
  return cookie;
}

/**
 * A Cookie header value without cookie `name` (HAProxy's `indirect`), or undefined when
 * nothing else is left. Returns the same string when the cookie is absent.
 */
export function withoutCookie(header: string, name: string): string | undefined {
  if (header.indexOf(name) < 0) return header;
  let kept = "";
  for (const pair of header.split(";")) {
    const trimmed = pair.trim();
    if (trimmed.length === 0) continue;
    const eq = trimmed.indexOf("=");
    if ((eq < 0 ? trimmed : trimmed.slice(0, eq).trimEnd()) === name) continue;
    kept = kept.length === 0 ? trimmed : `${kept}; ${trimmed}`;
  }
  return kept.length === 0 ? undefined : kept;
}
