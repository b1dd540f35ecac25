/** Test helpers for the http data plane: real backends, a real listener, a tiny client. */

import { once } from "node:events";
import {
  type Agent,
  createServer,
  type IncomingHttpHeaders,
  type IncomingMessage,
  request,
  type Server,
  type ServerResponse,
} from "node:http";
import {
  type AddressInfo,
  connect,
  createServer as createTcpServer,
  type Socket,
  type Server as TcpServer,
} from "node:net";
import { httpListenerSchema, poolSchema } from "../../src/config/schema/index.js";
import { createHttpListener } from "../../src/http/listener.js";
import { createLogger, silentLogger } from "../../src/log.js";
import type { Listener } from "../../src/net/listener.js";
import type { Pool } from "../../src/pool/pool.js";
import { createPoolFromConfig } from "../../src/runtime/pools.js";

export interface TestBackend {
  name: string;
  port: number;
  server: Server;
  /** Requests seen, in order. */
  seen: IncomingMessage[];
  close(): Promise<void>;
}

export type Handler = (req: IncomingMessage, res: ServerResponse, backend: TestBackend) => void;

/** Answers "<name>" with 200 after reading the body. */
export const nameHandler: Handler = (req, res, backend) => {
  req.resume();
  req.on("end", () => {
    res.setHeader("content-type", "text/plain");
    res.end(backend.name);
  });
};

/** Starts a backend on an ephemeral loopback port. */
export async function startBackend(
  name: string,
  handler: Handler = nameHandler,
): Promise<TestBackend> {
  const server = createServer();
  const backend: TestBackend = {
    name,
    port: 0,
    server,
    seen: [],
    close: async () => {
      server.closeAllConnections();
      if (server.listening) await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
  server.on("request", (req, res) => {
    backend.seen.push(req);
    handler(req, res, backend);
  });
  server.listen(0, "127.0.0.1");
  await once(server, "listening");
  backend.port = (server.address() as AddressInfo).port;
  return backend;
}

export interface TestProxy {
  listener: Listener;
  port: number;
  pools: Map<string, Pool>;
  close(): Promise<void>;
}

/**
 * Starts an http listener on an ephemeral port with the given listener config (partial,
 * schema defaults apply) and pools (pool config sections).
 */
export async function startProxy(
  listener: Record<string, unknown>,
  poolSections: Record<string, Record<string, unknown>>,
): Promise<TestProxy> {
  const config = httpListenerSchema.parse({
    name: "test",
    protocol: "http",
    bind: "127.0.0.1:0",
    access_log: false,
    ...listener,
  });
  const pools = new Map<string, Pool>();
  for (const [name, section] of Object.entries(poolSections)) {
    const parsed = poolSchema.parse(section);
    pools.set(name, createPoolFromConfig(name, parsed));
  }
  const live = createHttpListener(config, {
    pools,
    logger: process.env.TEST_LOG ? createLogger("debug") : silentLogger,
  });
  await live.start();
  return {
    listener: live,
    port: live.address().port,
    pools,
    close: async () => {
      await live.stop({ graceful: false });
      for (const pool of pools.values()) pool.close();
    },
  };
}

/** Backend addresses as pool config entries. */
export function backendsOf(backends: TestBackend[], weights?: number[]): Record<string, unknown>[] {
  return backends.map((b, i) => ({
    address: `127.0.0.1:${b.port}`,
    name: b.name,
    weight: weights?.[i] ?? 1,
  }));
}

export interface Reply {
  status: number;
  headers: IncomingHttpHeaders;
  body: string;
}

/** One request without connection reuse; resolves with the whole reply. */
export function fetchText(
  port: number,
  path: string,
  options: {
    method?: string;
    headers?: Record<string, string>;
    body?: string | Buffer;
    agent?: Agent;
  } = {},
): Promise<Reply> {
  return new Promise((resolve, reject) => {
    const req = request(
      {
        host: "127.0.0.1",
        port,
        path,
        method: options.method ?? "GET",
        headers: options.headers,
        agent: options.agent ?? false,
      },
      (res) => {
        const chunks: Buffer[] = [];
        res.on("data", (chunk: Buffer) => chunks.push(chunk));
        res.on("end", () =>
          resolve({
            status: res.statusCode ?? 0,
            headers: res.headers,
            body: Buffer.concat(chunks).toString(),
          }),
        );
        res.on("error", reject);
      },
    );
    req.on("error", reject);
    req.end(options.body);
  });
}

/** Sends raw bytes on a new connection; resolves with everything the server sent until close. */
export function rawExchange(
  port: number,
  bytes: string,
  endAfterWrite = true,
  limitMs = 5000,
): Promise<string> {
  return new Promise((resolve, reject) => {
    const socket = connect(port, "127.0.0.1", () => {
      if (endAfterWrite) socket.end(bytes);
      else socket.write(bytes);
    });
    let received = "";
    const timer = setTimeout(() => socket.destroy(), limitMs);
    socket.on("data", (chunk: Buffer) => {
      received += chunk.toString("latin1");
    });
    socket.on("close", () => {
      clearTimeout(timer);
      resolve(received);
    });
    socket.on("error", (error: NodeJS.ErrnoException) => {
      if (error.code !== "ECONNRESET") reject(error);
    });
  });
}

/** A backend that keeps the raw bytes of each request (head and body) and answers 200 "ok". */
export async function startRawHeadBackend(): Promise<{
  server: TcpServer;
  port: number;
  heads: string[];
}> {
  const heads: string[] = [];
  const server = createTcpServer((socket: Socket) => {
    let buffered = "";
    socket.on("data", (chunk: Buffer) => {
      buffered += chunk.toString("latin1");
      for (;;) {
        const end = buffered.indexOf("\r\n\r\n");
        if (end < 0) return;
        const head = buffered.slice(0, end + 4);
        const length = /\r\ncontent-length: *(\d+)/i.exec(head);
        const bodyLength = length === null ? 0 : Number(length[1]);
        if (buffered.length < end + 4 + bodyLength) return;
        heads.push(buffered.slice(0, end + 4 + bodyLength));
        buffered = buffered.slice(end + 4 + bodyLength);
        socket.write("HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok");
      }
    });
    socket.on("error", () => {});
  });
  server.listen(0, "127.0.0.1");
  await once(server, "listening");
  return { server, port: (server.address() as AddressInfo).port, heads };
}

/**
 * Sends `request` from `host` on a connection kept open; resolves with what came back once an
 * answer ending in "ok" is whole (or at close, or after 5 s).
 */
export function exchangeUntilOk(
  port: number,
  request: string,
  host = "127.0.0.1",
): Promise<string> {
  return new Promise((resolve, reject) => {
    const socket = connect(port, host, () => socket.write(request, "latin1"));
    let received = "";
    const done = () => {
      clearTimeout(timer);
      socket.destroy();
      resolve(received);
    };
    const timer = setTimeout(done, 5000);
    socket.on("data", (chunk: Buffer) => {
      received += chunk.toString("latin1");
      if (/\r\n\r\nok$/.test(received)) done();
    });
    socket.on("close", done);
    socket.on("error", reject);
  });
}

export { blackholePort } from "../support/blackhole-port.js";
