/**
 * ballast's tcp data plane alone, for the benchmark: one listener per "listenPort:backendPort"
 * argument, each over a one-backend pool. Prints "ready" once every listener is bound.
 */
import { tcpListenerSchema } from "../../src/config/schema/index.js";
import { silentLogger } from "../../src/log.js";
import { Pool } from "../../src/pool/pool.js";
import { createTcpListener } from "../../src/tcp/listener.js";

const listeners = process.argv.slice(2).map((pair, index) => {
  const [listenPort, backendPort] = pair.split(":").map(Number);
  const name = `bench${index}`;
  const pool = new Pool(name, [{ host: "127.0.0.1", port: backendPort }], { algorithm: "wlc" });
  const config = tcpListenerSchema.parse({
    name,
    protocol: "tcp",
    bind: `127.0.0.1:${listenPort}`,
    pool: name,
  });
  return createTcpListener(config, { pools: new Map([[name, pool]]), logger: silentLogger });
});

await Promise.all(listeners.map((listener) => listener.start()));
console.log("ready");
const shutdown = async () => {
  await Promise.all(listeners.map((listener) => listener.stop({ graceful: false })));
  process.exit(0);
};
process.on("SIGTERM", shutdown);
process.on("SIGINT", shutdown);
