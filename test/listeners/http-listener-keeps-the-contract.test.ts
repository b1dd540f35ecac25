/** The http data plane passes the shared listener suite (test/support/listener-suite.ts). */
import { once } from "node:events";
import { createServer } from "node:http";
import type { AddressInfo } from "node:net";
import { createHttpListener } from "../../src/http/listener.js";
import {
  AnswerHold,
  listenerSuite,
  type PlaneBackend,
  type PlaneClient,
  streamClient,
} from "../support/listener-suite.js";

/** An http backend that answers every request with its name. */
async function startBackend(name: string): Promise<PlaneBackend> {
  let received = 0;
  const hold = new AnswerHold();
  const server = createServer(async (req, res) => {
    received++;
    req.resume();
    await hold.next();
    res.end(name);
  });
  server.listen(0, "127.0.0.1");
  await once(server, "listening");
  return {
    name,
    address: `127.0.0.1:${(server.address() as AddressInfo).port}`,
    received: () => received,
    holdNext: () => hold.holdNext(),
    close: async () => {
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}

/** The body of a whole 200 response in `text`, its status line if another status, or undefined. */
function bodyOf(text: string): string | undefined {
  const headEnd = text.indexOf("\r\n\r\n");
  if (headEnd < 0) return undefined;
  const length = /\r\ncontent-length: *(\d+)/i.exec(text.slice(0, headEnd));
  const body = text.slice(headEnd + 4);
  if (length === null || body.length < Number(length[1])) return undefined;
  return /^HTTP\/1\.1 200 /.test(text) ? body : text.slice(0, 12);
}

/** A keep-alive client: each ask sends a GET and reads the whole response's body. */
function openClient(port: number, from: string): Promise<PlaneClient> {
  return streamClient(port, from, "GET / HTTP/1.1\r\nHost: suite.test\r\n\r\n", bodyOf);
}

listenerSuite({
  protocol: "http",
  factory: createHttpListener,
  section: (pool) => ({ default_pool: pool }),
  startBackend,
  openClient,
  counters: { served: "requests", denied: "deniedConnections", limited: "limitedConnections" },
  finishesInFlight: true,
  clientKeepsBackend: false,
  closedClientsEndSoon: {},
});
