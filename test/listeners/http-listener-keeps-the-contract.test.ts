/** The http data plane passes the shared listener suite (test/support/listener-suite.ts). */
import { once } from "node:events";
import { createServer } from "node:http";
import { type AddressInfo, connect } from "node:net";
import { createHttpListener } from "../../src/http/listener.js";
import {
  listenerSuite,
  type PlaneBackend,
  type PlaneClient,
  REFUSED,
} from "../support/listener-suite.js";

/** An http backend that answers every request with its name. */
async function startBackend(name: string): Promise<PlaneBackend> {
  let received = 0;
  let held: Promise<void> | undefined;
  const server = createServer(async (req, res) => {
    received++;
    const wait = held;
    held = undefined;
    req.resume();
    await wait;
    res.end(name);
  });
  server.listen(0, "127.0.0.1");
  await once(server, "listening");
  return {
    name,
    address: `127.0.0.1:${(server.address() as AddressInfo).port}`,
    received: () => received,
    holdNext: () => {
      let release = () => {};
      held = new Promise<void>((resolve) => {
        release = resolve;
      });
      return release;
    },
    close: async () => {
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}

/** A keep-alive client: each ask sends a GET and reads the whole response's body. */
async function openClient(port: number, from: string): Promise<PlaneClient> {
  const socket = connect({ port, host: "127.0.0.1", localAddress: from });
  socket.setEncoding("latin1");
  let ended = false;
  socket.on("error", () => {});
  socket.on("close", () => {
    ended = true;
  });
  await new Promise<void>((resolve) => {
    socket.once("connect", resolve);
    socket.once("close", resolve);
  });
  return {
    ask: () =>
      new Promise<string>((resolve) => {
        if (ended) return resolve(REFUSED);
        let text = "";
        const onData = (chunk: string) => {
          text += chunk;
          const headEnd = text.indexOf("\r\n\r\n");
          if (headEnd < 0) return;
          const length = /\r\ncontent-length: *(\d+)/i.exec(text.slice(0, headEnd));
          const body = text.slice(headEnd + 4);
          if (length !== null && body.length >= Number(length[1])) {
            finish(/^HTTP\/1\.1 200 /.test(text) ? body : text.slice(0, 12));
          }
        };
        const onClose = () => finish(REFUSED);
        const finish = (answer: string) => {
          socket.off("data", onData);
          socket.off("close", onClose);
          resolve(answer);
        };
        socket.on("data", onData);
        socket.on("close", onClose);
        socket.write("GET / HTTP/1.1\r\nHost: suite.test\r\n\r\n");
      }),
    close: () => socket.destroy(),
  };
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
