/** Shared pieces of the control-plane tests: backends, configs, a running runtime with its admin API. */
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import {
  createServer,
  type IncomingMessage,
  request,
  type Server,
  type ServerResponse,
} from "node:http";
import type { AddressInfo } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { type AdminServer, createAdminServer } from "../../src/admin/server.js";
import { parseConfigText } from "../../src/config/load.js";
import type { Config } from "../../src/config/schema/index.js";
import { Runtime } from "../../src/runtime/runtime.js";

/** A real HTTP backend on loopback that answers with its name; `?delay=ms` holds the answer. */
export interface TestBackend {
  name: string;
  port: number;
  address: string;
  /** Requests this backend answered. */
  served: number;
  close(): Promise<void>;
}

/** Starts one HTTP backend on an ephemeral loopback port. */
export async function startBackend(name: string): Promise<TestBackend> {
  const timers = new Set<NodeJS.Timeout>();
  const backend: TestBackend = {
    name,
    port: 0,
    address: "",
    served: 0,
    close: async () => {
      for (const timer of timers) clearTimeout(timer);
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
  const server: Server = createServer((req: IncomingMessage, res: ServerResponse) => {
    const delay = Number(new URL(req.url ?? "/", "http://x").searchParams.get("delay") ?? 0);
    const answer = () => {
      backend.served++;
      res.writeHead(200, { "content-type": "text/plain" });
      res.end(name);
    };
    req.resume();
    if (delay > 0) {
      const timer = setTimeout(() => {
        timers.delete(timer);
        answer();
      }, delay);
      timers.add(timer);
    } else answer();
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  backend.port = (server.address() as AddressInfo).port;
  backend.address = `127.0.0.1:${backend.port}`;
  return backend;
}

/** Starts `count` backends named `${prefix}1`, `${prefix}2`, ... */
export function startBackends(count: number, prefix = "b"): Promise<TestBackend[]> {
  return Promise.all(Array.from({ length: count }, (_, i) => startBackend(`${prefix}${i + 1}`)));
}

/** Builds YAML for one http listener on an ephemeral port and the given pools. */
export function httpConfigYaml(options: {
  pools: Record<string, { backends: TestBackend[]; algorithm?: string; extra?: string }>;
  defaultPool: string;
  routes?: { pathPrefix: string; pool: string }[];
  admin?: { token?: string };
}): string {
  const lines = [
    "listeners:",
    "  - name: web",
    "    protocol: http",
    '    bind: "127.0.0.1:0"',
    `    default_pool: ${options.defaultPool}`,
    "    access_log: false",
  ];
  if (options.routes && options.routes.length > 0) {
    lines.push("    routes:");
    for (const route of options.routes) {
      lines.push(
        `      - match: { path_prefix: "${route.pathPrefix}" }`,
        `        pool: ${route.pool}`,
      );
    }
  }
  lines.push("pools:");
  for (const [name, pool] of Object.entries(options.pools)) {
    lines.push(`  ${name}:`, `    algorithm: ${pool.algorithm ?? "rr"}`);
    if (pool.extra) lines.push(...pool.extra.split("\n").map((line) => `    ${line}`));
    lines.push("    backends:");
    for (const backend of pool.backends) {
      lines.push(`      - { name: ${backend.name}, address: "${backend.address}" }`);
    }
  }
  if (options.admin) {
    lines.push("admin:", '  bind: "127.0.0.1:0"');
    if (options.admin.token) lines.push(`  token: "${options.admin.token}"`);
  }
  lines.push("log: { level: silent }");
  return `${lines.join("\n")}\n`;
}

/** A temp dir holding the config file, removed at cleanup. */
export interface ConfigFile {
  path: string;
  write(text: string): void;
  cleanup(): void;
}

/** Writes `text` to a fresh temp file. */
export function configFile(text: string): ConfigFile {
  const dir = mkdtempSync(join(tmpdir(), "ballast-control-"));
  const path = join(dir, "ballast.yaml");
  writeFileSync(path, text);
  return {
    path,
    write: (next) => writeFileSync(path, next),
    cleanup: () => rmSync(dir, { recursive: true, force: true }),
  };
}

/** A runtime with its admin API, both on ephemeral loopback ports. */
export interface Stack {
  runtime: Runtime;
  admin: AdminServer;
  file: ConfigFile;
  /** Base URL of the data plane listener "web". */
  webUrl: string;
  adminUrl: string;
  /** The admin token; undefined for a token-less (read-only) admin. */
  token?: string;
  stop(): Promise<void>;
}

/** The token `startStack` gives the admin API unless told otherwise. */
export const STACK_TOKEN = "stack-admin-token";

/**
 * Starts runtime and admin API from YAML written to a temp file (so file reloads work). The
 * admin API gets STACK_TOKEN unless `token` says otherwise (`null`: none, so read-only).
 */
export async function startStack(
  yaml: string,
  options: { token?: string | null; rateIntervalMs?: number } = {},
): Promise<Stack> {
  const file = configFile(yaml);
  const config: Config = parseConfigText(yaml, file.path);
  const runtime = new Runtime(config, { configFile: file.path, drainTimeoutMs: 5000 });
  await runtime.start();
  const token = options.token === null ? undefined : (options.token ?? STACK_TOKEN);
  const admin = createAdminServer(runtime, {
    bind: { host: "127.0.0.1", port: 0 },
    token,
    rateIntervalMs: options.rateIntervalMs ?? 200,
  });
  await admin.start();
  const web = runtime.listeners.get("web")?.address();
  return {
    runtime,
    admin,
    file,
    webUrl: web ? `http://127.0.0.1:${web.port}` : "",
    adminUrl: admin.url(),
    token,
    async stop() {
      await admin.stop();
      await runtime.stop({ graceful: true, timeoutMs: 2000 });
      file.cleanup();
    },
  };
}

/** Calls the admin API with the stack's token (or `token`; `null` sends none); returns status and parsed JSON. */
export async function adminCall(
  stack: Stack,
  method: string,
  path: string,
  body?: unknown,
  token: string | null | undefined = stack.token,
  // biome-ignore lint/suspicious/noExplicitAny: tests read the answers field by field
): Promise<{ status: number; body: any }> {
  const headers: Record<string, string> = {};
  if (typeof token === "string") headers.authorization = `Bearer ${token}`;
  if (body !== undefined) headers["content-type"] = "application/json";
  const response = await fetch(`${stack.adminUrl}${path}`, {
    method,
    headers,
    body: body === undefined ? undefined : typeof body === "string" ? body : JSON.stringify(body),
  });
  const text = await response.text();
  let parsed: unknown = text;
  try {
    parsed = JSON.parse(text);
  } catch {
    // not JSON (metrics, dashboard): keep the text
  }
  return { status: response.status, body: parsed };
}

/** An answer read by `rawRequest`. */
export interface RawAnswer {
  status: number;
  headers: Record<string, string | string[] | undefined>;
  text: string;
}

/**
 * Sends one request with exactly these headers (fetch would not let a test set Host or
 * Sec-Fetch-Site), to a server on 127.0.0.1:`port`.
 */
export function rawRequest(
  port: number,
  method: string,
  path: string,
  headers: Record<string, string>,
  body?: string,
): Promise<RawAnswer> {
  return new Promise((resolve, reject) => {
    const req = request(
      { host: "127.0.0.1", port, method, path, headers, agent: false, timeout: 10_000 },
      (res) => {
        let text = "";
        res.setEncoding("utf8");
        res.on("data", (chunk: string) => {
          text += chunk;
        });
        res.on("end", () => resolve({ status: res.statusCode ?? 0, headers: res.headers, text }));
        res.on("error", reject);
      },
    );
    req.on("timeout", () => req.destroy(new Error(`no answer to ${method} ${path}`)));
    req.on("error", reject);
    req.end(body);
  });
}
