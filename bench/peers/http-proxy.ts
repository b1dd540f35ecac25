/**
 * node http-proxy as a benchmark peer: one process, keep-alive agent to the backend.
 * Usage: node http-proxy.js <listen-port> <backend-port>
 */
import { Agent, createServer } from "node:http";
import httpProxy from "http-proxy";

const [listenPort, backendPort] = process.argv.slice(2).map(Number);
// The same upstream keep-alive size as the other proxies in the benchmark.
const agent = new Agent({ keepAlive: true, maxSockets: 64, maxFreeSockets: 64 });
const proxy = httpProxy.createProxyServer({ target: `http://127.0.0.1:${backendPort}`, agent });
proxy.on("error", (_error, _req, res) => {
  if ("writeHead" in res && !res.headersSent) res.writeHead(502);
  res.end();
});
createServer((req, res) => proxy.web(req, res)).listen(listenPort, "127.0.0.1");
process.on("SIGTERM", () => process.exit(0));
