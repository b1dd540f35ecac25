/** HTTP check (keepalived HTTP_GET / SSL_GET, HAProxy `option httpchk` + `http-check expect`). */
import { request as httpRequest, type IncomingMessage, type RequestOptions } from "node:http";
import { request as httpsRequest } from "node:https";
import { formatHostPort } from "../pool/backend.js";
import { parseStatusRanges, type StatusRange, statusInRanges } from "./status-ranges.js";
import {
  type CheckResult,
  type CheckTarget,
  describeError,
  failed,
  type HealthCheck,
  passed,
} from "./types.js";

/** How the HTTP check asks and what it accepts. */
export interface HttpCheckOptions {
  method?: string;
  path?: string;
  /** Host header; the target's "host:port" when unset. */
  host?: string;
  headers?: Record<string, string>;
  /** Healthy statuses: 200, "200-399", "2xx". Defaults to 200-399 as HAProxy does. */
  expectStatus?: readonly (number | string)[];
  /** A regular expression the body must match (only then is the body read). */
  expectBody?: string;
  /** Speak TLS. The certificate is not verified: the check asks whether the backend answers. */
  tls?: boolean;
}

/** Most body bytes read to match `expectBody`; a health page is small. */
const MAX_BODY_BYTES = 64 * 1024;

/** Healthy when the backend answers with an expected status (and body, when one is asked). */
export function createHttpCheck(options: HttpCheckOptions = {}): HealthCheck {
  const ranges = parseStatusRanges(options.expectStatus ?? ["200-399"]);
  const bodyPattern = options.expectBody === undefined ? undefined : new RegExp(options.expectBody);
  const send = options.tls ? httpsRequest : httpRequest;
  const method = (options.method ?? "GET").toUpperCase();
  const path = options.path ?? "/";
  const headers = { ...options.headers, connection: "close" };
  return {
    type: "http",
    check(target: CheckTarget, signal: AbortSignal): Promise<CheckResult> {
      const requestOptions: RequestOptions & { rejectUnauthorized?: boolean; servername?: string } =
        {
          host: target.host,
          port: target.port,
          method,
          path,
          headers: { ...headers, host: options.host ?? formatHostPort(target.host, target.port) },
          // A fresh connection per check: a pooled one could hide a backend that stopped accepting.
          agent: false,
          signal,
        };
      if (options.tls) {
        requestOptions.rejectUnauthorized = false;
        if (options.host) requestOptions.servername = options.host.replace(/:\d+$/, "");
      }
      return new Promise((resolve) => {
        if (signal.aborted) return resolve(failed("timed out before sending", "L4TOUT"));
        let connected = false;
        const request = send(requestOptions, (response) =>
          judgeResponse(response, ranges, bodyPattern, resolve),
        );
        // Whether the connection opened tells a dead port (L4) from a bad answer (L7).
        request.once("socket", (socket) => {
          if (!socket.connecting) connected = true;
          else socket.once("connect", () => (connected = true));
        });
        request.once("error", (error) => {
          if (signal.aborted) {
            resolve(failed("timed out", connected ? "L7TOUT" : "L4TOUT"));
          } else resolve(failed(describeError(error), connected ? "L7RSP" : "L4CON"));
        });
        request.end();
      });
    },
  };
}

function judgeResponse(
  response: IncomingMessage,
  ranges: readonly StatusRange[],
  bodyPattern: RegExp | undefined,
  resolve: (result: CheckResult) => void,
): void {
  const status = response.statusCode ?? 0;
  if (!statusInRanges(status, ranges)) {
    response.destroy();
    resolve(failed(`status ${status}`, "L7STS", status));
    return;
  }
  if (bodyPattern === undefined) {
    response.destroy();
    resolve(passed(`status ${status}`, "L7OK", status));
    return;
  }
  const chunks: Buffer[] = [];
  let size = 0;
  const judgeBody = () => {
    const body = Buffer.concat(chunks).toString("utf8");
    if (bodyPattern.test(body)) resolve(passed(`status ${status}, body matched`, "L7OK", status));
    else resolve(failed(`status ${status}, body did not match ${bodyPattern}`, "L7RSP", status));
  };
  response.on("data", (chunk: Buffer) => {
    if (size >= MAX_BODY_BYTES) return;
    chunks.push(chunk);
    size += chunk.length;
    if (size >= MAX_BODY_BYTES) {
      response.destroy();
      judgeBody();
    }
  });
  response.once("end", judgeBody);
  response.once("error", (error) => resolve(failed(describeError(error), "L7RSP", status)));
}
