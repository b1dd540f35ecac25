/** A TCP server of the test's own on 127.0.0.1, on a port the kernel picks. */
import { createServer, type Socket } from "node:net";

export interface LoopbackTcpServer {
  port: number;
  close(): Promise<void>;
}

/** Listens on 127.0.0.1:0 and hands each connection to `serve` (socket errors ignored). */
export async function loopbackTcpServer(
  serve: (socket: Socket) => void,
): Promise<LoopbackTcpServer> {
  const server = createServer((socket) => {
    socket.on("error", () => {});
    serve(socket);
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const { port } = server.address() as { port: number };
  return { port, close: () => new Promise<void>((resolve) => server.close(() => resolve())) };
}
