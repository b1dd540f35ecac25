/** Helpers of the limits tests: clients bound to a chosen loopback address, a log that keeps lines. */
import { connect, type Socket } from "node:net";
import { Writable } from "node:stream";
import { pino } from "pino";
import type { Logger } from "../../src/log.js";

/** The second client address: Linux routes all of 127.0.0.0/8 to loopback. */
export const OTHER_CLIENT = "127.0.0.2";

/** A logger that keeps every line as a parsed object. */
export function capturingLogger(): { logger: Logger; lines: Array<Record<string, unknown>> } {
  const lines: Array<Record<string, unknown>> = [];
  const sink = new Writable({
    write(chunk: Buffer, _encoding, done) {
      for (const text of chunk.toString().split("\n")) if (text) lines.push(JSON.parse(text));
      done();
    },
  });
  return { logger: pino({ level: "debug" }, sink), lines };
}

/**
 * Connects from `localAddress`, writes `bytes`, and resolves with everything received until
 * the server closes the connection (or `limitMs` passes).
 */
export function exchangeFrom(
  port: number,
  localAddress: string,
  bytes: string,
  limitMs = 3000,
): Promise<string> {
  return new Promise((resolve) => {
    const socket = connect({ port, host: "127.0.0.1", localAddress });
    let received = "";
    const timer = setTimeout(() => socket.destroy(), limitMs);
    socket.on("connect", () => socket.write(bytes));
    socket.on("data", (chunk: Buffer) => {
      received += chunk.toString("latin1");
    });
    socket.on("error", () => {});
    socket.on("close", () => {
      clearTimeout(timer);
      resolve(received);
    });
  });
}

/** A request that asks the server to close after answering. */
export const CLOSING_GET = "GET / HTTP/1.1\r\nHost: test\r\nConnection: close\r\n\r\n";

/** One keep-alive connection from `localAddress` that sends requests one at a time. */
export interface KeepAliveClient {
  socket: Socket;
  /** Sends a GET and resolves with the whole response (head and body), "" if closed first. */
  get(path?: string): Promise<string>;
  close(): void;
}

/** Opens a keep-alive connection from `localAddress`; resolves once connected. */
export function keepAliveFrom(port: number, localAddress: string): Promise<KeepAliveClient> {
  return new Promise((resolve, reject) => {
    const socket = connect({ port, host: "127.0.0.1", localAddress });
    socket.on("error", () => {});
    socket.once("error", reject);
    socket.once("connect", () => {
      socket.off("error", reject);
      resolve({
        socket,
        get: (path = "/") => responseOn(socket, `GET ${path} HTTP/1.1\r\nHost: test\r\n\r\n`),
        close: () => socket.destroy(),
      });
    });
  });
}

function responseOn(socket: Socket, request: string): Promise<string> {
  return new Promise((resolve) => {
    let received = "";
    const done = () => {
      socket.off("data", onData);
      socket.off("close", done);
      clearTimeout(timer);
      resolve(received);
    };
    const onData = (chunk: Buffer) => {
      received += chunk.toString("latin1");
      const headEnd = received.indexOf("\r\n\r\n");
      if (headEnd < 0) return;
      const length = /content-length: *(\d+)/i.exec(received.slice(0, headEnd));
      if (length !== null && received.length >= headEnd + 4 + Number(length[1])) done();
    };
    const timer = setTimeout(done, 3000);
    socket.on("data", onData);
    socket.on("close", done);
    if (socket.destroyed) done();
    else socket.write(request);
  });
}
