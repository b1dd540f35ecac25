/**
 * HTTP-redirect balancing: instead of proxying, the balancer answers 301/302/307/308 with a
 * `Location` on the chosen backend, and the client talks to that backend directly. The
 * balancer carries only the first request of each client, at the cost of one more round
 * trip and of exposing backends' public URLs.
 */
import type { IncomingMessage, ServerResponse } from "node:http";
import { type BackendState, formatHostPort } from "../pool/backend.js";

export type RedirectStatus = 301 | 302 | 307 | 308;

/** Each backend's Location prefix without a trailing slash; a backend's URL never changes. */
const bases = new WeakMap<BackendState, string>();

/**
 * Answers `req` with a redirect to `backend`: Location = the backend's `redirect_url` (or
 * http://host:port) followed by the request's path and query, `Cache-Control: no-store` so
 * that the next request is balanced again, and a one-line body (none for HEAD).
 */
export function redirectResponse(
  res: ServerResponse,
  backend: BackendState,
  req: IncomingMessage,
  status: RedirectStatus,
): void {
  const location = redirectLocation(backend, req.url);
  const body = req.method === "HEAD" ? "" : `Redirecting to ${location}\n`;
  res.writeHead(status, {
    location,
    "cache-control": "no-store",
    "content-type": "text/plain; charset=utf-8",
    "content-length": Buffer.byteLength(body),
  });
  res.end(body);
}

/** The Location for a request target `url` on `backend`. */
export function redirectLocation(backend: BackendState, url: string | undefined): string {
  let base = bases.get(backend);
  if (base === undefined) {
    base = backend.redirectUrl ?? `http://${formatHostPort(backend.host, backend.port)}`;
    while (base.endsWith("/")) base = base.slice(0, -1);
    bases.set(backend, base);
  }
  return base + originPathOf(url);
}

/**
 * The path and query of a request target: origin-form as sent, absolute-form
 * ("http://host/p?q") reduced to its path, and "*" or nothing to "/".
 */
function originPathOf(url: string | undefined): string {
  if (url === undefined || url.length === 0) return "/";
  // The base always carries a scheme and host, so even "//x" stays a path under it.
  if (url.charCodeAt(0) === 0x2f /* / */) return url;
  const scheme = url.indexOf("://");
  if (scheme < 0) return "/";
  const path = url.indexOf("/", scheme + 3);
  if (path >= 0) return originPathOf(url.slice(path));
  const query = url.indexOf("?", scheme + 3);
  return query < 0 ? "/" : `/${url.slice(query)}`;
}
