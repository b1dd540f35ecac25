/** The udp data plane passes the shared listener suite (test/support/listener-suite.ts). */
import { createSocket } from "node:dgram";
import { once } from "node:events";
import { setTimeout as sleep } from "node:timers/promises";
import { createUdpListener } from "../../src/udp/listener.js";
import {
  AnswerHold,
  listenerSuite,
  type PlaneBackend,
  type PlaneClient,
  REFUSED,
} from "../support/listener-suite.js";

/** A udp backend that answers every datagram with its name. */
async function startBackend(name: string): Promise<PlaneBackend> {
  let received = 0;
  const hold = new AnswerHold();
  const socket = createSocket("udp4");
  socket.on("message", async (_message, remote) => {
    received++;
    await hold.next();
    socket.send(name, remote.port, remote.address);
  });
  socket.bind(0, "127.0.0.1");
  await once(socket, "listening");
  return {
    name,
    address: `127.0.0.1:${socket.address().port}`,
    received: () => received,
    holdNext: () => hold.holdNext(),
    close: () => new Promise<void>((resolve) => socket.close(() => resolve())),
  };
}

/**
 * A connected udp socket: each ask sends one datagram and waits for the answer. A dropped
 * datagram has no event of its own, so the listener's refusal counters tell it; a closed
 * listener port answers with ICMP, which the connected socket reports as an error.
 */
async function openClient(port: number, from: string): Promise<PlaneClient> {
  const socket = createSocket("udp4");
  let closed = false;
  let failed = false;
  socket.on("error", () => {
    failed = true;
  });
  socket.bind(0, from);
  await once(socket, "listening");
  socket.connect(port, "127.0.0.1");
  await once(socket, "connect");
  return {
    ask: async (refusals) => {
      if (closed) return REFUSED;
      const before = refusals();
      let answer: string | undefined;
      const onMessage = (message: Buffer) => {
        answer = message.toString();
      };
      socket.on("message", onMessage);
      failed = false;
      socket.send("who?");
      try {
        const deadline = Date.now() + 5000;
        while (answer === undefined) {
          if (failed || refusals() > before) return REFUSED;
          if (Date.now() > deadline) throw new Error("no answer and no refusal within 5 s");
          await sleep(5);
        }
        return answer;
      } finally {
        socket.off("message", onMessage);
      }
    },
    close: () => {
      if (closed) return;
      closed = true;
      socket.close();
    },
  };
}

listenerSuite({
  protocol: "udp",
  factory: createUdpListener,
  section: (pool) => ({ pool }),
  startBackend,
  openClient,
  counters: { served: "sessionsCreated", denied: "deniedDatagrams", limited: "limitedDatagrams" },
  finishesInFlight: false,
  clientKeepsBackend: true,
  closedClientsEndSoon: { session_timeout: 200 },
});
