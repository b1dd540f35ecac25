/**
 * The path that routes match on, as nginx's `location` matches on its normalized URI: every
 * `%XX` decoded (`%2F` too, so `/%2fadmin` is `/admin`), `\` read as `/` (a Windows backend
 * would), `;params` of a segment removed (a Java backend would: `/..;/admin`), `.` and `..`
 * segments resolved, and runs of slashes merged. Every spelling of `/admin/secret` that a
 * backend could read as that path matches `path_prefix: /admin`; the request is forwarded as
 * the client sent it (nginx's `proxy_pass` without a URI does the same).
 *
 * Refused (undefined, the listener answers 400): a malformed escape, an escaped NUL or
 * control character, a `#` (a request target has no fragment, RFC 9112 3.2), and `..` above
 * the root.
 */

/** Characters after which the path needs the slow path: % . / ; \ #. */
const NEEDS_WORK = /[%;\\#]|\/\.|\/\//;
/** A decoded byte that no path may hold: NUL and the other C0 controls, DEL. */
// biome-ignore lint/suspicious/noControlCharactersInRegex: finding control characters is its job.
const CONTROL = /[\x00-\x1f\x7f]/;

/** The normalized path of an origin-form path (no query); undefined when it must be refused. */
export function routingPath(path: string): string | undefined {
  if (!NEEDS_WORK.test(path)) return path;
  if (path.includes("#")) return undefined;
  let decoded: string;
  try {
    decoded = path.includes("%") ? decodeURIComponent(path) : path;
  } catch {
    return undefined; // "%zz", "%4", or bytes that are not UTF-8
  }
  if (CONTROL.test(decoded)) return undefined;
  const segments: string[] = [];
  for (const raw of decoded.replaceAll("\\", "/").split("/")) {
    const semicolon = raw.indexOf(";");
    const segment = semicolon < 0 ? raw : raw.slice(0, semicolon);
    if (segment === "" || segment === ".") continue;
    if (segment === "..") {
      if (segments.length === 0) return undefined;
      segments.pop();
      continue;
    }
    segments.push(segment);
  }
  // A trailing slash (or a trailing dot segment, which names a directory) is kept, so
  // `path: /a/` still tells `/a/` from `/a`.
  const last = decoded.length > 0 ? decoded[decoded.length - 1] : "";
  const trailing =
    segments.length > 0 &&
    (last === "/" || last === "\\" || /(?:^|[/\\])\.\.?(?:;[^/\\]*)?$/.test(decoded));
  return `/${segments.join("/")}${trailing ? "/" : ""}`;
}
