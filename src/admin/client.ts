/** A small client of the admin API, for `ballast ctl` and scripts. */

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

/** Calls the admin API and returns the parsed JSON answer. */
export class AdminClient {
  private readonly base: string;

  constructor(private readonly options: AdminClientOptions) {
    this.base = options.url.replace(/\/+$/, "");
  }

  /** GET a JSON resource. */
  get<T = unknown>(path: string): Promise<T> {
    return this.request<T>("GET", path);
  }

  /** Sends a request with an optional JSON (object) or text (string) body. */
  async request<T = unknown>(method: string, path: string, body?: unknown): Promise<T> {
    const headers: Record<string, string> = { accept: "application/json" };
    if (this.options.token) headers.authorization = `Bearer ${this.options.token}`;
    let payload: string | undefined;
    if (typeof body === "string") {
      payload = body;
      headers["content-type"] = "application/yaml";
    } else if (body !== undefined) {
      payload = JSON.stringify(body);
      headers["content-type"] = "application/json";
    }
    const url = `${this.base}${path}`;
    let response: Response;
    try {
      response = await fetch(url, {
        method,
        headers,
        body: payload,
        signal: AbortSignal.timeout(this.options.timeoutMs ?? 10_000),
      });
    } catch (error) {
      throw new AdminUnreachableError(this.base, error);
    }
    const text = await response.text();
    let parsed: unknown;
    try {
      parsed = text === "" ? {} : JSON.parse(text);
    } catch {
      parsed = { error: text.slice(0, 200) };
    }
    if (!response.ok)
      throw new AdminRequestError(response.status, parsed as Record<string, unknown>);
    return parsed as T;
  }
}

/** "/api/pools/web/backends/10.0.0.1%3A80": path segments encoded one by one. */
export function apiPath(...segments: string[]): string {
  return `/api/${segments.map(encodeURIComponent).join("/")}`;
}

function describeCause(error: unknown): string {
  const cause = (error as { cause?: { code?: string; message?: string } }).cause;
  if (cause?.code) return cause.code;
  if ((error as Error).name === "TimeoutError") return "timed out";
  return cause?.message ?? (error as Error).message;
}
