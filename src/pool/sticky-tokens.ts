/**
 * The opaque names of a pool's backends in sticky cookies: a truncated HMAC-SHA256 of the
 * backend's id, never its address. The HMAC key comes from BALLAST_STICKY_SECRET when set,
 * so every worker and every restart that shares the secret reads the same cookies; without
 * it a fixed key is used, which keeps cookies valid across workers and restarts but lets
 * someone who can guess backend ids compute their values.
 */
import { createHmac } from "node:crypto";
import type { BackendState } from "./backend.js";

/** Characters of the base64url HMAC kept in the cookie: 96 bits, unguessable enough. */
export const STICKY_TOKEN_LENGTH = 16;
const DEFAULT_SECRET = "ballast sticky cookie";
const secret = process.env.BALLAST_STICKY_SECRET || DEFAULT_SECRET;

/** Token of each backend; backends keep their id for life, so this never goes stale. */
const tokens = new WeakMap<BackendState, string>();

/** The opaque cookie value that names `backend`. */
export function stickyToken(backend: BackendState): string {
  let token = tokens.get(backend);
  if (token === undefined) {
    token = createHmac("sha256", secret)
      .update(backend.id)
      .digest("base64url")
      .slice(0, STICKY_TOKEN_LENGTH);
    tokens.set(backend, token);
  }
  return token;
}

/** Token → backend for one pool, rebuilt after membership changes. */
export class StickyTokens {
  private byToken: Map<string, BackendState> | undefined;

  /** A backend joined or left: the table is rebuilt at the next lookup. */
  membershipChanged(): void {
    this.byToken = undefined;
  }

  /** The member `token` names, or undefined. */
  backendOf(
    token: string,
    primaries: readonly BackendState[],
    backups: readonly BackendState[],
  ): BackendState | undefined {
    if (token.length !== STICKY_TOKEN_LENGTH) return undefined;
    if (this.byToken === undefined) {
      const byToken = new Map<string, BackendState>();
      for (const backend of primaries) byToken.set(stickyToken(backend), backend);
      for (const backend of backups) byToken.set(stickyToken(backend), backend);
      this.byToken = byToken;
    }
    return this.byToken.get(token);
  }
}
