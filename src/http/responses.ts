/** The answers the proxy writes itself: errors with a request id, fixed routes, bad requests. */
import { type ServerResponse, STATUS_CODES } from "node:http";
import type { Duplex } from "node:stream";
import type { Logger } from "../log.js";

/**
 * Answers with `status`, a one-line body naming the status and the request id, and the id in
 * X-Request-Id, so a client can quote it and an operator can find the access log line.
 */
export function sendError(res: ServerResponse, status: number, requestId: string): void {
  if (res.headersSent) {
    // The response is already streaming: the only honest signal left is a broken connection.
    res.destroy();
    return;
  }
  const body = `${status} ${STATUS_CODES[status] ?? "Error"}\nrequest id: ${requestId}\n`;
  res.writeHead(status, [
    "content-type",
    "text/plain; charset=utf-8",
    "content-length",
    String(Buffer.byteLength(body)),
    "cache-control",
    "no-store",
    "x-request-id",
    requestId,
  ]);
  res.end(res.req.method === "HEAD" ? undefined : body);
}

/** A route's fixed `respond` answer. */
export function sendFixed(res: ServerResponse, status: number, body: string): void {
  res.writeHead(status, [
    "content-type",
    "text/plain; charset=utf-8",
    "content-length",
    String(Buffer.byteLength(body)),
  ]);
  res.end(res.req.method === "HEAD" ? undefined : body);
}

/** The status a parser or timeout error of the client side deserves. */
function clientErrorStatus(code: string | undefined): number {
  switch (code) {
    case "HPE_HEADER_OVERFLOW":
      return 431;
    case "HPE_URI_TOO_LONG":
      return 414;
    case "ERR_HTTP_REQUEST_TIMEOUT":
      return 408;
    default:
      return 400;
  }
}

/**
 * The server's `clientError`: the parser refused the request (CL+TE, duplicate
 * Content-Length, bad tokens, a head too large) or the head did not arrive in time. Nothing
 * reached a backend; the client gets 400/414/431/408 and the connection is closed (a
 * response already under way was cut by the server before this is called).
 */
export function answerClientError(
  error: Error & { code?: string },
  socket: Duplex,
  logger: Logger,
  listener: string,
): void {
  const status = clientErrorStatus(error.code);
  if (!socket.writable) {
    socket.destroy();
    return;
  }
  const level = status === 408 ? "info" : "warn";
  logger[level]({ listener, status, code: error.code }, "client error: %s", error.message);
  const body = `${status} ${STATUS_CODES[status]}\n`;
  socket.end(
    `HTTP/1.1 ${status} ${STATUS_CODES[status]}\r\nContent-Type: text/plain\r\n` +
      `Content-Length: ${body.length}\r\nConnection: close\r\n\r\n${body}`,
  );
}
