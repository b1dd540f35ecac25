/**
 * The least a Node.js TCP proxy does per connection, as a reference for ballast in the TCP
 * benchmark: a `net.Server`, one `net.connect` per client with the backend read into one
 * shared buffer (each chunk copied out, so a pending write never holds it), `data` handlers,
 * pause on a full socket, FINs passed on. No pool, limits, connection table or timeouts:
 * whatever ballast costs above this is ballast's own code, and what this costs above HAProxy
 * is Node's two `net.Socket`s per connection.
 * The HTTP benchmark runs it too: in front of keep-alive connections it relays requests and
 * answers as bytes, one backend connection per client connection, with no parsing at all, so
 * it is what no Node.js HTTP proxy built on `net` can go below.
 * With `--tls CERT_FILE KEY_FILE` first, the client side is TLS (node's defaults: session
 * tickets for resumption), the floor of the TLS benchmark.
 * Arguments: "listenPort:backendPort" pairs. Prints "ready" once every port is bound.
 */
import { readFileSync } from "node:fs";
import { connect, createServer, type Server, type Socket } from "node:net";
import { createServer as createTlsServer } from "node:tls";

/** Shared by every connection: each read is copied out before it is written. */
const readBuffer = Buffer.allocUnsafe(64 * 1024);

const args = process.argv.slice(2);
const tls =
  args[0] === "--tls"
    ? { cert: readFileSync(args[1]), key: readFileSync(args[2]), pairs: args.slice(3) }
    : undefined;
const pairs = tls?.pairs ?? args;

function proxy(listenPort: number, backendPort: number): Promise<Server> {
  const relay = (client: Socket) => {
    const upstream = connect({
      host: "127.0.0.1",
      port: backendPort,
      allowHalfOpen: true,
      noDelay: true,
      onread: {
        buffer: readBuffer,
        // false stops reading the backend until the client's socket drains.
        callback: (length: number, buffer: Uint8Array) =>
          client.write(Buffer.from(buffer.subarray(0, length))),
      },
    });
    client.on("drain", () => upstream.resume());
    client.on("data", (chunk) => {
      if (!upstream.write(chunk)) client.pause();
    });
    upstream.on("drain", () => client.resume());
    client.on("end", () => upstream.end());
    upstream.on("end", () => client.end());
    client.on("error", () => upstream.destroy());
    upstream.on("error", () => client.destroy());
  };
  const options = { allowHalfOpen: true, noDelay: true };
  const server =
    tls === undefined
      ? createServer(options, relay)
      : createTlsServer({ ...options, cert: tls.cert, key: tls.key }, relay);
  return new Promise((resolve) => server.listen(listenPort, "127.0.0.1", () => resolve(server)));
}

const servers = await Promise.all(
  pairs.map((pair) => {
    const [listenPort, backendPort] = pair.split(":").map(Number);
    return proxy(listenPort, backendPort);
  }),
);
console.log("ready");
const shutdown = () => {
  for (const server of servers) server.close();
  process.exit(0);
};
process.on("SIGTERM", shutdown);
process.on("SIGINT", shutdown);
