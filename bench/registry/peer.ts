/**
 * The peer: a plain Node HTTP server that reads the JSON body, parses it and answers 201
 * with a small JSON object. No registry over Node's HTTP/1.1 can answer faster than this.
 */
import { createServer } from "node:http";
import type { AddressInfo } from "node:net";

/** Starts the peer on a loopback port; the same keep-alive as the admin API. */
export async function plainNodeServer(): Promise<{ base: string; close(): Promise<void> }> {
  const server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on("data", (chunk: Buffer) => chunks.push(chunk));
    req.on("end", () => {
      const text = Buffer.concat(chunks).toString();
      const parsed = text === "" ? {} : (JSON.parse(text) as { id?: string });
      const answer = JSON.stringify({ id: parsed.id ?? "x", expiresAt: Date.now() + 600_000 });
      res.writeHead(201, {
        "content-type": "application/json",
        "content-length": Buffer.byteLength(answer),
      });
      res.end(answer);
    });
  });
  server.keepAliveTimeout = 35_000;
  await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
  const { port } = server.address() as AddressInfo;
  return {
    base: `http://127.0.0.1:${port}`,
    close: () => new Promise((r) => server.close(() => r())),
  };
}
