/**
 * What keeps web pages away from the admin API. A browser sends requests for any page it
 * shows, with the user's network position: a page from another site may post to a loopback
 * admin, and a host name rebound to 127.0.0.1 (DNS rebinding) lets a page read it. Only
 * requests that name this API by address (or an allowed name) and come from its own origin
 * (or from no browser page at all, as ctl and curl) are answered.
 */
import type { IncomingMessage } from "node:http";
import { isIP } from "node:net";
import { HttpError } from "./http-util.js";

/** Request body types a page can send without a CORS preflight: never accepted. */
const BODY_TYPES = new Set(["application/json", "application/yaml"]);

/** Refuses requests that a page of another site or a rebound host name could have sent. */
export function refuseForeignRequests(
  req: IncomingMessage,
  pathname: string,
  allowedHosts: ReadonlySet<string>,
): void {
  const host = req.headers.host;
  if (host === undefined || host === "") throw new HttpError(400, "a Host header is needed");
  const name = hostName(host);
  // An IP literal cannot be rebound, and a browser only sends one when the page's own URL
  // has it; a name is the attacker's when they control its DNS, so only listed ones pass.
  if (name === undefined || !(isIP(name) !== 0 || name === "localhost" || allowedHosts.has(name))) {
    throw new HttpError(
      421,
      `Host "${host.slice(0, 100)}" is not a name of this admin API; use its IP address or localhost, or list the name in admin.allowed_hosts`,
    );
  }
  const site = req.headers["sec-fetch-site"];
  if (
    site !== undefined &&
    site !== "same-origin" &&
    site !== "none" &&
    !isLinkToDashboard(req, pathname)
  ) {
    throw new HttpError(403, `requests from other sites are refused (Sec-Fetch-Site: ${site})`);
  }
  const origin = req.headers.origin;
  if (origin !== undefined) {
    const lower = origin.toLowerCase();
    const own = host.toLowerCase();
    if (lower !== `http://${own}` && lower !== `https://${own}`) {
      throw new HttpError(
        403,
        `requests from another origin (${origin.slice(0, 100)}) are refused`,
      );
    }
  }
}

/** Refuses a request body of a type that a page could send without a CORS preflight. */
export function requireNonSimpleBody(req: IncomingMessage): void {
  const type = req.headers["content-type"];
  const hasBody =
    req.headers["transfer-encoding"] !== undefined ||
    (req.headers["content-length"] !== undefined && req.headers["content-length"] !== "0");
  if (type === undefined && !hasBody) return;
  const essence = (type ?? "").split(";")[0].trim().toLowerCase();
  if (!BODY_TYPES.has(essence)) {
    throw new HttpError(
      415,
      `send the body as Content-Type: application/json (or application/yaml for a config), not ${type === undefined ? "without a type" : JSON.stringify(type.slice(0, 100))}`,
    );
  }
}

/** A top-level navigation to the dashboard page from a link elsewhere: it holds no data. */
function isLinkToDashboard(req: IncomingMessage, pathname: string): boolean {
  return (
    pathname === "/" &&
    (req.method === "GET" || req.method === "HEAD") &&
    req.headers["sec-fetch-mode"] === "navigate" &&
    req.headers["sec-fetch-dest"] === "document"
  );
}

/** The lower-cased name of a Host header ("[::1]:9090" gives "::1"), or undefined if malformed. */
function hostName(host: string): string | undefined {
  const match = /^(?:\[([0-9A-Fa-f:.]+)\]|([^:[\]\s]+))(?::(\d{1,5}))?$/.exec(host);
  if (match === null) return undefined;
  return (match[1] ?? match[2]).toLowerCase();
}
