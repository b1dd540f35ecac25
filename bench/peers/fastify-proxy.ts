/**
 * @fastify/http-proxy as a benchmark peer (undici pool to the backend, keep-alive).
 * Usage: node fastify-proxy.js <listen-port> <backend-port>
 */
import proxy from "@fastify/http-proxy";
import Fastify from "fastify";

const [listenPort, backendPort] = process.argv.slice(2).map(Number);
const app = Fastify({ logger: false });
await app.register(proxy, {
  upstream: `http://127.0.0.1:${backendPort}`,
  undici: { connections: 64, pipelining: 1, keepAliveTimeout: 30_000 },
});
await app.listen({ port: listenPort, host: "127.0.0.1" });
process.on("SIGTERM", () => {
  app.close().then(() => process.exit(0));
});
