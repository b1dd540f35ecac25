/**
 * A load client that tests run inside a client namespace (`lab.node(ns, CLIENT_SCRIPT, args)`),
 * since a test process cannot open sockets in another namespace itself. Each request uses a
 * new TCP connection (`GET / HTTP/1.0`), so every request is a new connection for the
 * director to schedule. Prints one JSON line: how many responses each real server gave
 * (by the body's first line) and how many connections failed.
 *
 *   burst  --host H --port P [--count N | --duration-ms D] [--concurrency C] [--sources a,b]
 *   hold   --host H --port P     one keep-alive connection: a request now, another on SIGUSR1,
 *                                printing a JSON line after each
 */
import { connect, type Socket } from "node:net";
import { fileURLToPath } from "node:url";

/** The compiled path of this script, for `lab.node(ns, CLIENT_SCRIPT, [...])`. */
export const CLIENT_SCRIPT = fileURLToPath(import.meta.url);

/** What `burst` prints. */
export interface BurstResult {
  /** Responses per real server (the first line of each body). */
  servers: Record<string, number>;
  failed: number;
  /** Milliseconds from the start to the last failure, or -1. */
  lastFailureMs: number;
  elapsedMs: number;
}

function option(args: string[], name: string): string | undefined {
  const index = args.indexOf(`--${name}`);
  return index === -1 ? undefined : args[index + 1];
}

/** The first line of an HTTP response's body, or undefined when it is not a 200. */
function bodyLine(response: string): string | undefined {
  if (!/^HTTP\/1\.[01] 200 /.test(response)) return undefined;
  const start = response.indexOf("\r\n\r\n");
  if (start === -1) return undefined;
  return response.slice(start + 4).split("\n")[0];
}

function oneRequest(
  host: string,
  port: number,
  localAddress?: string,
): Promise<string | undefined> {
  return new Promise((resolve) => {
    const socket = connect({ host, port, localAddress });
    let response = "";
    const timer = setTimeout(() => socket.destroy(), 3000);
    socket.setEncoding("latin1");
    socket.on("connect", () => socket.write("GET / HTTP/1.0\r\nHost: vip\r\n\r\n"));
    socket.on("data", (chunk: string) => {
      if (response.length < 4096) response += chunk;
    });
    socket.on("error", () => undefined);
    socket.on("close", () => {
      clearTimeout(timer);
      resolve(bodyLine(response));
    });
  });
}

async function burst(args: string[]): Promise<BurstResult> {
  const host = option(args, "host") ?? "127.0.0.1";
  const port = Number(option(args, "port") ?? 80);
  const count = Number(option(args, "count") ?? 0);
  const durationMs = Number(option(args, "duration-ms") ?? 0);
  const concurrency = Number(option(args, "concurrency") ?? 16);
  const sources = option(args, "sources")?.split(",");
  const start = Date.now();
  const result: BurstResult = { servers: {}, failed: 0, lastFailureMs: -1, elapsedMs: 0 };
  let started = 0;
  const more = () =>
    count > 0 ? started < count : durationMs > 0 ? Date.now() - start < durationMs : false;
  const worker = async () => {
    while (more()) {
      const source = sources?.[started % sources.length];
      started += 1;
      const server = await oneRequest(host, port, source);
      if (server === undefined) {
        result.failed += 1;
        result.lastFailureMs = Date.now() - start;
      } else {
        result.servers[server] = (result.servers[server] ?? 0) + 1;
      }
    }
  };
  await Promise.all(Array.from({ length: concurrency }, worker));
  result.elapsedMs = Date.now() - start;
  return result;
}

/** One keep-alive connection: answers a request at once and one more on each SIGUSR1. */
function hold(args: string[]): void {
  const host = option(args, "host") ?? "127.0.0.1";
  const port = Number(option(args, "port") ?? 80);
  const socket: Socket = connect({ host, port });
  let response = "";
  socket.setEncoding("latin1");
  const ask = () => {
    response = "";
    socket.write("GET / HTTP/1.1\r\nHost: vip\r\n\r\n");
  };
  socket.on("connect", ask);
  socket.on("data", (chunk: string) => {
    response += chunk;
    const server = bodyLine(response);
    if (server !== undefined) console.log(JSON.stringify({ server }));
  });
  socket.on("error", (error) => console.log(JSON.stringify({ error: error.message })));
  socket.on("close", () => {
    console.log(JSON.stringify({ closed: true }));
    process.exit(0);
  });
  process.on("SIGUSR1", ask);
  process.on("SIGTERM", () => socket.destroy());
}

if (process.argv[1] === CLIENT_SCRIPT) {
  const [mode, ...args] = process.argv.slice(2);
  if (mode === "burst") {
    console.log(JSON.stringify(await burst(args)));
  } else if (mode === "hold") {
    hold(args);
  } else {
    console.error("usage: netns-client.js burst|hold --host H --port P ...");
    process.exit(2);
  }
}
