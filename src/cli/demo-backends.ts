/** In-process HTTP backends of different speeds for `ballast demo`. */
import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";

/** One demo backend: its name, how long it takes to answer and where it listens. */
export interface DemoBackend {
  readonly name: string;
  readonly delayMs: number;
  readonly port: number;
  close(): Promise<void>;
}

/** The default trio: fast, medium and slow. */
export const demoSpeeds: readonly { name: string; delayMs: number }[] = [
  { name: "fast", delayMs: 5 },
  { name: "medium", delayMs: 20 },
  { name: "slow", delayMs: 80 },
];

/** Starts a backend on 127.0.0.1 (ephemeral port) that answers with its name after `delayMs`. */
export async function startDemoBackend(name: string, delayMs: number): Promise<DemoBackend> {
  const server: Server = createServer((request, response) => {
    // Drain the request body so keep-alive connections stay usable.
    request.resume();
    const timer = setTimeout(() => {
      const body = `${name} (${delayMs} ms) ${request.method} ${request.url}\n`;
      response.writeHead(200, {
        "content-type": "text/plain; charset=utf-8",
        "content-length": Buffer.byteLength(body),
        "x-demo-backend": name,
      });
      response.end(body);
    }, delayMs);
    response.on("close", () => clearTimeout(timer));
  });
  await new Promise<void>((resolve, reject) => {
    server.once("error", reject);
    server.listen(0, "127.0.0.1", () => resolve());
  });
  const { port } = server.address() as AddressInfo;
  return {
    name,
    delayMs,
    port,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}

/** Starts every backend in `speeds`; closes those already started if one fails. */
export async function startDemoBackends(
  speeds: readonly { name: string; delayMs: number }[] = demoSpeeds,
): Promise<DemoBackend[]> {
  const started: DemoBackend[] = [];
  try {
    for (const { name, delayMs } of speeds) started.push(await startDemoBackend(name, delayMs));
    return started;
  } catch (error) {
    await Promise.all(started.map((backend) => backend.close()));
    throw error;
  }
}
