/**
 * The checks on a request line and its framing that node's parser lets through but that a
 * proxy must not forward, because a backend could read the request differently:
 *
 * - a version other than HTTP/1.x: HTTP/2.0 in a request line is 505, HTTP/0.9 with header
 *   fields 400 (as nginx answers);
 * - HTTP/1.0 with Transfer-Encoding: RFC 9112 6.1 says the framing is faulty, so 400;
 * - GET, HEAD and TRACE with a body: many backends ignore such a body and read it as the next
 *   request on the connection, so ballast refuses it (400) rather than forward it.
 */
import type { IncomingMessage } from "node:http";
import type { RequestHead } from "./forward-headers.js";

/** Methods whose body a backend may not read (RFC 9110 9.3.1, 9.3.2, 9.3.8). */
const NO_BODY_METHODS = new Set(["GET", "HEAD", "TRACE"]);

/** A refusal: the status and why. */
export interface Refusal {
  status: number;
  reason: string;
}

/** The refusal a request deserves, or undefined when it may be forwarded. */
export function refusalOf(req: IncomingMessage, head: RequestHead): Refusal | undefined {
  if (req.httpVersionMajor !== 1) {
    return req.httpVersionMajor === 0
      ? { status: 400, reason: "HTTP/0.9 request with header fields" }
      : { status: 505, reason: `HTTP/${req.httpVersion} is not supported` };
  }
  if (head.refusal !== 0) return { status: head.refusal, reason: head.refusalReason };
  if (head.chunked && req.httpVersionMinor === 0) {
    return { status: 400, reason: "HTTP/1.0 request with Transfer-Encoding" };
  }
  if (head.hasBody && NO_BODY_METHODS.has(req.method ?? "")) {
    return { status: 400, reason: `${req.method} request with a body` };
  }
  return undefined;
}
