/**
 * Session persistence by cookie insertion, as HAProxy's `cookie SRV insert indirect nocache`:
 * the balancer names the chosen backend in a cookie, honours it while that backend is
 * available, and picks (and names) another one when it is not.
 *
 * The cookie value is opaque: a truncated HMAC-SHA256 of the backend's id, never its address.
 * The HMAC key comes from BALLAST_STICKY_SECRET when set, so every worker and every restart
 * that shares the secret reads the same cookies; without it a fixed key is used, which keeps
 * cookies valid across workers and restarts but lets someone who can guess backend ids
 * compute their values.
 *
 * How the data plane uses it, per request of a pool with `sticky`:
 *   const backend = stickyBackendOf(req, pool, sticky);
 *   lease = backend ? pool.take(backend) : pool.acquire(key);
 *   if (lease.backend !== backend) set `Set-Cookie: stickyCookie(lease.backend, sticky)` and
 *     `Cache-Control: private` (nocache: a shared cache must not hand the cookie to others);
 *   `Cookie` sent upstream: withoutCookie(value, sticky.cookie) (indirect: the backend never
 *     sees the balancer's cookie).
 */
import { createHmac } from "node:crypto";
import type { IncomingMessage } from "node:http";
import type { StickyConfig } from "../config/schema/pool.js";
import type { BackendState } from "../pool/backend.js";
import type { Pool } from "../pool/pool.js";
import { requestCookie } from "./hash-key.js";

/** Characters of the base64url HMAC kept in the cookie: 96 bits, unguessable enough. */
const TOKEN_LENGTH = 16;
const DEFAULT_SECRET = "ballast sticky cookie";
const secret = process.env.BALLAST_STICKY_SECRET || DEFAULT_SECRET;

/** Opaque token of each backend; backends keep their id for life, so this never goes stale. */
const tokens = new WeakMap<BackendState, string>();

/** Per pool: token to backend, rebuilt after membership changes. */
const tables = new WeakMap<Pool, StickyTable>();

interface StickyTable {
  byToken: Map<string, BackendState> | undefined;
}

/** The opaque cookie value that names `backend`. */
export function stickyToken(backend: BackendState): string {
  let token = tokens.get(backend);
  if (token === undefined) {
    token = createHmac("sha256", secret)
      .update(backend.id)
      .digest("base64url")
      .slice(0, TOKEN_LENGTH);
    tokens.set(backend, token);
  }
  return token;
}

/**
 * The backend the request's sticky cookie names, when it is in `pool` and available; else
 * undefined (no cookie, an unknown value, or a backend that is down, disabled or draining),
 * and the caller picks a new one. A backend of weight 0 still takes its sticky clients, as
 * HAProxy's drain state does: weight 0 refuses new sessions, not existing ones.
 */
export function stickyBackendOf(
  req: IncomingMessage,
  pool: Pool,
  sticky: StickyConfig,
): BackendState | undefined {
  const token = requestCookie(req.rawHeaders, sticky.cookie);
  if (token === undefined || token.length !== TOKEN_LENGTH) return undefined;
  const backend = tableOf(pool).get(token);
  return backend?.available && !backend.overloaded ? backend : undefined;
}

/** The Set-Cookie value naming `backend`: Path=/, plus Max-Age, HttpOnly and Secure per config. */
export function stickyCookie(backend: BackendState, sticky: StickyConfig): string {
  let cookie = `${sticky.cookie}=${stickyToken(backend)}; Path=/`;
  // Max-Age is in seconds; a config without max_age gives a session cookie.
  if (sticky.max_age !== undefined) cookie += `; Max-Age=${Math.floor(sticky.max_age / 1000)}`;
  if (sticky.http_only) cookie += "; HttpOnly";
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

function tableOf(pool: Pool): Map<string, BackendState> {
  let table = tables.get(pool);
  if (table === undefined) {
    const created: StickyTable = { byToken: undefined };
    // Only membership changes the table; health and drain are read at lookup time.
    pool.onEvent((event) => {
      if (event.type === "added" || event.type === "removed") created.byToken = undefined;
    });
    tables.set(pool, created);
    table = created;
  }
  if (table.byToken === undefined) {
    const byToken = new Map<string, BackendState>();
    for (const backend of pool.backends) byToken.set(stickyToken(backend), backend);
    table.byToken = byToken;
  }
  return table.byToken;
}
