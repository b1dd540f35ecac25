/** A small client of the admin API, for `ballast ctl` and scripts. */
import { request as httpRequest } from "node:http";
import { request as httpsRequest } from "node:https";

/** The admin API answered with an error status; `body` is its JSON answer. */
export class AdminRequestError extends Error {
  constructor(
    readonly status: number,
    readonly body: Record<string, unknown>,
  ) {
    super(typeof body.error === "string" ? body.error : `HTTP ${status}`);
    this.name = "AdminRequestError";
  }
}

/** The admin API could not be reached at all (refused, unknown host, timeout). */
export class AdminUnreachableError extends Error {
  constructor(url: string, cause: unknown) {
    const reason = describeCause(cause);
    super(`cannot reach the admin API at ${url}: ${reason}`);
    this.name = "AdminUnreachableError";
  }
}

/** Where the admin API is and how to authenticate. */
export interface AdminClientOptions {
  /** Base URL, e.g. http://127.0.0.1:9090. */
  url: string;
  token?: string;
  /** Per-request timeout in ms (10 s by default). */
  timeoutMs?: number;
}

/** The largest answer the client reads; a connection table of 100000 rows fits. */
const MAX_ANSWER_BYTES = 256 << 20;

/**
 * Calls the admin API and returns the parsed JSON answer. It speaks node:http rather than
 * fetch, which refuses ports that browsers block (6000, 6666, 10080, ...): an admin API may
 * listen wherever the operator chose.
 */
export class AdminClient {
  private readonly base: URL;

  constructor(private readonly options: AdminClientOptions) {
    let base: URL;
    try {
      base = new URL(options.url);
    } catch {
      throw new AdminUnreachableError(
        options.url,
        new Error("not a URL such as http://127.0.0.1:9090"),
      );
    }
    if (base.protocol !== "http:" && base.protocol !== "https:") {
      throw new AdminUnreachableError(
        options.url,
        new Error("the URL must start with http:// or https://"),
      );
    }
    this.base = base;
  }

  /** GET a JSON resource. */
  get<T = unknown>(path: string): Promise<T> {
    return this.request<T>("GET", path);
  }

  /** Sends a request with an optional JSON (object) or text (string, sent as YAML) body. */
  async request<T = unknown>(method: string, path: string, body?: unknown): Promise<T> {
    const headers: Record<string, string> = { accept: "application/json" };
    if (this.options.token) headers.authorization = `Bearer ${this.options.token}`;
    let payload: Buffer | undefined;
    if (typeof body === "string") {
      payload = Buffer.from(body);
      headers["content-type"] = "application/yaml";
    } else if (body !== undefined) {
      payload = Buffer.from(JSON.stringify(body));
      headers["content-type"] = "application/json";
    }
    if (payload !== undefined) headers["content-length"] = String(payload.length);
    const url = new URL(`${this.base.pathname.replace(/\/+$/, "")}${path}`, this.base);
    const { status, text } = await this.send(method, url, headers, payload);
    let parsed: unknown;
    try {
      parsed = text === "" ? {} : JSON.parse(text);
    } catch {
      parsed = { error: text.slice(0, 200) };
    }
    if (status < 200 || status > 299) {
      throw new AdminRequestError(status, parsed as Record<string, unknown>);
    }
    return parsed as T;
  }

  private send(
    method: string,
    url: URL,
    headers: Record<string, string>,
    payload: Buffer | undefined,
  ): Promise<{ status: number; text: string }> {
    const shown = this.base.origin;
    const timeoutMs = this.options.timeoutMs ?? 10_000;
    return new Promise((resolve, reject) => {
      const fail = (cause: unknown) => reject(new AdminUnreachableError(shown, cause));
      const req = (url.protocol === "https:" ? httpsRequest : httpRequest)(
        url,
        { method, headers, agent: false, signal: AbortSignal.timeout(timeoutMs) },
        (res) => {
          const chunks: Buffer[] = [];
          let size = 0;
          res.on("data", (chunk: Buffer) => {
            size += chunk.length;
            if (size > MAX_ANSWER_BYTES) {
              res.destroy();
              fail(new Error(`answer larger than ${MAX_ANSWER_BYTES} bytes`));
              return;
            }
            chunks.push(chunk);
          });
          res.on("end", () =>
            resolve({ status: res.statusCode ?? 0, text: Buffer.concat(chunks).toString("utf8") }),
          );
          res.on("error", fail);
        },
      );
      req.on("error", fail);
      req.end(payload);
    });
  }
}

/** "/api/pools/web/backends/10.0.0.1%3A80": path segments encoded one by one. */
export function apiPath(...segments: string[]): string {
  return `/api/${segments.map(encodeURIComponent).join("/")}`;
}

function describeCause(error: unknown): string {
  const failure = error as { code?: string; name?: string; message?: string; cause?: unknown };
  // An aborted request carries the abort reason (the timeout) as its cause.
  const cause = failure.cause as { name?: string } | undefined;
  if (failure.name === "TimeoutError" || cause?.name === "TimeoutError") return "timed out";
  if (failure.code !== undefined && failure.code !== "ABORT_ERR") return failure.code;
  return failure.message ?? String(error);
}
