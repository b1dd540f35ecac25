/** The tcp data plane passes the shared listener suite (test/support/listener-suite.ts). */
import { once } from "node:events";
import { type AddressInfo, connect, createServer, type Socket } from "node:net";
import { createTcpListener } from "../../src/tcp/listener.js";
import {
  listenerSuite,
  type PlaneBackend,
  type PlaneClient,
  REFUSED,
} from "../support/listener-suite.js";

/** A tcp backend that answers each chunk it reads with its name and a newline. */
async function startBackend(name: string): Promise<PlaneBackend> {
  let received = 0;
  let held: Promise<void> | undefined;
  const sockets = new Set<Socket>();
  const server = createServer((socket) => {
    sockets.add(socket);
    socket.on("close", () => sockets.delete(socket));
    socket.on("error", () => {});
    socket.on("data", async () => {
      received++;
      const wait = held;
      held = undefined;
      await wait;
      socket.write(`${name}\n`);
    });
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
      for (const socket of sockets) socket.destroy();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}

/** A tcp client: each ask writes one line and reads the one-line answer. */
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
          if (text.endsWith("\n")) finish(text.trimEnd());
        };
        const onClose = () => finish(REFUSED);
        const finish = (answer: string) => {
          socket.off("data", onData);
          socket.off("close", onClose);
          resolve(answer);
        };
        socket.on("data", onData);
        socket.on("close", onClose);
        socket.write("who?\n");
      }),
    close: () => socket.destroy(),
  };
}

listenerSuite({
  protocol: "tcp",
  factory: createTcpListener,
  section: (pool) => ({ pool }),
  startBackend,
  openClient,
  counters: { served: "accepted", denied: "deniedConnections", limited: "limitedConnections" },
  finishesInFlight: true,
  clientKeepsBackend: true,
  closedClientsEndSoon: {},
});
