/** The tcp data plane passes the shared listener suite (test/support/listener-suite.ts). */
import { once } from "node:events";
import { type AddressInfo, createServer, type Socket } from "node:net";
import { createTcpListener } from "../../src/tcp/listener.js";
import {
  AnswerHold,
  listenerSuite,
  type PlaneBackend,
  type PlaneClient,
  streamClient,
} from "../support/listener-suite.js";

/** A tcp backend that answers each chunk it reads with its name and a newline. */
async function startBackend(name: string): Promise<PlaneBackend> {
  let received = 0;
  const hold = new AnswerHold();
  const sockets = new Set<Socket>();
  const server = createServer((socket) => {
    sockets.add(socket);
    socket.on("close", () => sockets.delete(socket));
    socket.on("error", () => {});
    socket.on("data", async () => {
      received++;
      await hold.next();
      socket.write(`${name}\n`);
    });
  });
  server.listen(0, "127.0.0.1");
  await once(server, "listening");
  return {
    name,
    address: `127.0.0.1:${(server.address() as AddressInfo).port}`,
    received: () => received,
    holdNext: () => hold.holdNext(),
    close: async () => {
      for (const socket of sockets) socket.destroy();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}

/** A tcp client: each ask writes one line and reads the one-line answer. */
function openClient(port: number, from: string): Promise<PlaneClient> {
  return streamClient(port, from, "who?\n", (text) =>
    text.endsWith("\n") ? text.trimEnd() : undefined,
  );
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
