import assert from "node:assert/strict";
import { type IncomingHttpHeaders, request } from "node:http";
import { after, before, describe, it } from "node:test";
import { configSchema } from "../../src/config/schema/index.js";
import { Runtime } from "../../src/runtime/runtime.js";
import { type RealServer, startNginx } from "../support/servers.js";

interface Reply {
  status: number;
  headers: IncomingHttpHeaders;
  body: string;
}

function send(port: number, path: string, method = "GET", body?: string): Promise<Reply> {
  return new Promise((resolve, reject) => {
    const req = request({ host: "127.0.0.1", port, path, method, agent: false }, (res) => {
      let text = "";
      res.setEncoding("utf8");
      res.on("data", (chunk: string) => {
        text += chunk;
      });
      res.on("end", () =>
        resolve({ status: res.statusCode ?? 0, headers: res.headers, body: text }),
      );
    });
    req.setTimeout(5000, () => req.destroy(new Error("request timed out")));
    req.on("error", reject);
    req.end(body);
  });
}

/** A server block per port answering with its name; /echo returns what the proxy forwarded. */
function serverBlocks([alphaPort, betaPort]: number[]): string {
  const block = (name: string, port: number) => `
  server {
    listen 127.0.0.1:${port};
    location / { default_type text/plain; return 200 "${name}\\n"; }
    location /echo {
      default_type text/plain;
      return 200 "${name} xff=$http_x_forwarded_for host=$http_host method=$request_method\\n";
    }
  }`;
  return block("alpha", alphaPort) + block("beta", betaPort);
}

describe("Debian's nginx as a backend behind ballast", () => {
  let nginx: RealServer & { ports: number[] };
  let runtime: Runtime;
  let port: number;

  before(async () => {
    nginx = await startNginx(2, serverBlocks);
    const [alphaPort, betaPort] = nginx.ports;

    const config = configSchema.parse({
      log: { level: "silent" },
      listeners: [
        {
          name: "web",
          protocol: "http",
          bind: "127.0.0.1:0",
          default_pool: "nginx",
          access_log: false,
        },
      ],
      pools: {
        nginx: {
          algorithm: "wrr",
          backends: [
            { name: "alpha", address: `127.0.0.1:${alphaPort}`, weight: 3 },
            { name: "beta", address: `127.0.0.1:${betaPort}`, weight: 1 },
          ],
        },
      },
    });
    runtime = new Runtime(config);
    await runtime.start();
    port = runtime.listeners.get("web")!.address().port;
  });

  after(async () => {
    await runtime?.stop({ graceful: false });
    await nginx?.stop();
  });

  it("passes requests through with forwarding headers and nginx's answer", async () => {
    const reply = await send(port, "/echo?q=1", "POST", "body");
    assert.equal(reply.status, 200);
    assert.match(reply.body, /^(alpha|beta) xff=127\.0\.0\.1 host=127\.0\.0\.1:\d+ method=POST\n$/);
    assert.match(String(reply.headers.server), /^nginx/);
  });

  it("spreads requests over the two server blocks by weight (3:1)", async () => {
    const counts: Record<string, number> = {};
    for (let i = 0; i < 200; i++) {
      const reply = await send(port, "/");
      assert.equal(reply.status, 200);
      const name = reply.body.trim();
      counts[name] = (counts[name] ?? 0) + 1;
    }
    // Smooth weighted round robin: exactly 3 of every 4 picks go to alpha.
    assert.deepEqual(counts, { alpha: 150, beta: 50 });
  });
});
