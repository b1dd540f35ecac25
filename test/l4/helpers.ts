/** Helpers of the L4 tests: a tcp/udp listener in front of a pool, small loopback servers. */
import { connect, createServer, type Server, type Socket } from "node:net";
import {
  type TcpListenerConfig,
  tcpListenerSchema,
  type UdpListenerConfig,
  udpListenerSchema,
} from "../../src/config/schema/index.js";
import { silentLogger } from "../../src/log.js";
import type { BackendSpec } from "../../src/pool/backend.js";
import { Pool, type PoolOptions } from "../../src/pool/pool.js";
import { createTcpListener, type TcpListener } from "../../src/tcp/listener.js";
import { createUdpListener, type UdpListener } from "../../src/udp/listener.js";

/** A listener of either kind in front of one pool named "p". */
export interface Fronted<L> {
  listener: L;
  pool: Pool;
  port: number;
  close(): Promise<void>;
}

/** Starts a tcp listener on 127.0.0.1:0 over a pool of the given backends. */
export async function frontTcp(
  backends: BackendSpec[],
  listener: Partial<Record<keyof TcpListenerConfig, unknown>> = {},
  pool: PoolOptions = {},
): Promise<Fronted<TcpListener>> {
  const p = new Pool("p", backends, { algorithm: "rr", ...pool });
  const config = tcpListenerSchema.parse({
    name: "t",
    protocol: "tcp",
    bind: "127.0.0.1:0",
    pool: "p",
    ...listener,
  });
  const l = createTcpListener(config, { pools: new Map([["p", p]]), logger: silentLogger });
  await l.start();
  return {
    listener: l as TcpListener,
    pool: p,
    port: l.address().port,
    close: async () => {
      await l.stop({ graceful: false });
      p.close();
    },
  };
}

/** Starts a udp listener on 127.0.0.1:0 over a pool of the given backends. */
export async function frontUdp(
  backends: BackendSpec[],
  listener: Partial<Record<keyof UdpListenerConfig, unknown>> = {},
  pool: PoolOptions = {},
): Promise<Fronted<UdpListener>> {
  const p = new Pool("p", backends, { algorithm: "rr", ...pool });
  const config = udpListenerSchema.parse({
    name: "u",
    protocol: "udp",
    bind: "127.0.0.1:0",
    pool: "p",
    ...listener,
  });
  const l = createUdpListener(config, { pools: new Map([["p", p]]), logger: silentLogger });
  await l.start();
  return {
    listener: l as UdpListener,
    pool: p,
    port: l.address().port,
    close: async () => {
      await l.stop({ graceful: false });
      p.close();
    },
  };
}

/** A tcp server on 127.0.0.1:0; `onSocket` gets each connection. */
export async function tcpServer(
  onSocket: (socket: Socket) => void,
  options: { allowHalfOpen?: boolean } = {},
): Promise<{ server: Server; port: number; sockets: Set<Socket>; close(): Promise<void> }> {
  const sockets = new Set<Socket>();
  const server = createServer({ allowHalfOpen: options.allowHalfOpen ?? false }, (socket) => {
    sockets.add(socket);
    socket.on("close", () => sockets.delete(socket));
    socket.on("error", () => {});
    onSocket(socket);
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const port = (server.address() as { port: number }).port;
  return {
    server,
    port,
    sockets,
    close: () =>
      new Promise<void>((resolve) => {
        for (const socket of sockets) socket.destroy();
        server.close(() => resolve());
      }),
  };
}

/** An echo server that answers each connection's bytes with its name first. */
export function namedEchoServer(name: string) {
  return tcpServer((socket) => {
    socket.write(`${name}\n`);
    socket.pipe(socket);
  });
}

/** Connects to 127.0.0.1:port and resolves once connected. */
export function dial(port: number, options: { allowHalfOpen?: boolean } = {}): Promise<Socket> {
  return new Promise((resolve, reject) => {
    const socket = connect({ host: "127.0.0.1", port, allowHalfOpen: options.allowHalfOpen });
    socket.once("connect", () => {
      socket.off("error", reject);
      resolve(socket);
    });
    socket.once("error", reject);
  });
}

/** Reads from a socket until `predicate` holds on what was read, or the socket ends. */
export function readUntil(
  socket: Socket,
  predicate: (text: string) => boolean,
  limitMs = 5000,
): Promise<string> {
  return new Promise((resolve, reject) => {
    let text = "";
    const timer = setTimeout(
      () => done(new Error(`timed out; read so far: ${JSON.stringify(text)}`)),
      limitMs,
    );
    const onData = (chunk: Buffer) => {
      text += chunk.toString("latin1");
      if (predicate(text)) done();
    };
    const onEnd = () => done();
    const onError = (error: Error) => done(error);
    const done = (error?: Error) => {
      clearTimeout(timer);
      socket.off("data", onData);
      socket.off("end", onEnd);
      socket.off("close", onEnd);
      socket.off("error", onError);
      if (error) reject(error);
      else resolve(text);
    };
    socket.on("data", onData);
    socket.on("end", onEnd);
    socket.on("close", onEnd);
    socket.on("error", onError);
  });
}

/** Opens a connection through the listener and returns the first line (the backend's name). */
export async function whoAnswers(port: number): Promise<string> {
  const socket = await dial(port);
  const text = await readUntil(socket, (t) => t.includes("\n"));
  socket.destroy();
  return text.split("\n")[0];
}
