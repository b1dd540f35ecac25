import assert from "node:assert/strict";
import { type ChildProcess, spawn } from "node:child_process";
import { once } from "node:events";
import { mkdtemp, readFile, rm, writeFile } from "node:fs/promises";
import { type IncomingHttpHeaders, request } from "node:http";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, describe, it } from "node:test";
import { configSchema } from "../../src/config/schema/index.js";
import { Runtime } from "../../src/runtime/runtime.js";
import { freePort } from "../support/ports.js";
import { requireProgram } from "../support/programs.js";

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

/** Two server blocks that answer with their name; /echo returns what the proxy forwarded. */
function nginxConfig(dir: string, alphaPort: number, betaPort: number): string {
  const block = (name: string, port: number) => `
  server {
    listen 127.0.0.1:${port};
    location / { default_type text/plain; return 200 "${name}\\n"; }
    location /echo {
      default_type text/plain;
      return 200 "${name} xff=$http_x_forwarded_for host=$http_host method=$request_method\\n";
    }
  }`;
  const temp = ["client_body", "proxy", "fastcgi", "uwsgi", "scgi"]
    .map((kind) => `  ${kind}_temp_path ${dir}/${kind};`)
    .join("\n");
  return `${process.getuid?.() === 0 ? "user root;\n" : ""}worker_processes 1;
pid ${dir}/nginx.pid;
error_log ${dir}/error.log warn;
events { worker_connections 256; }
http {
  access_log off;
${temp}${block("alpha", alphaPort)}${block("beta", betaPort)}
}
`;
}

async function waitForNginx(nginx: ChildProcess, port: number, dir: string): Promise<void> {
  for (let attempt = 0; attempt < 100; attempt++) {
    if (nginx.exitCode !== null) break;
    try {
      if ((await send(port, "/")).status === 200) return;
    } catch {
      // Not listening yet.
    }
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
  const log = await readFile(join(dir, "error.log"), "utf8").catch(() => "");
  throw new Error(`nginx did not start:\n${log}`);
}

describe("Debian's nginx as a backend behind ballast", () => {
  let dir: string;
  let nginx: ChildProcess;
  let runtime: Runtime;
  let port: number;

  before(async () => {
    const program = requireProgram("nginx");
    dir = await mkdtemp(join(tmpdir(), "ballast-nginx-backend-"));
    const [alphaPort, betaPort] = [await freePort(), await freePort()];
    const file = join(dir, "nginx.conf");
    await writeFile(file, nginxConfig(dir, alphaPort, betaPort));
    nginx = spawn(
      program,
      ["-p", dir, "-e", join(dir, "error.log"), "-c", file, "-g", "daemon off;"],
      { stdio: "ignore" },
    );
    await waitForNginx(nginx, alphaPort, dir);
    await waitForNginx(nginx, betaPort, dir);

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
    if (nginx && nginx.exitCode === null) {
      const exited = once(nginx, "exit");
      nginx.kill("SIGTERM"); // nginx's fast shutdown
      await exited;
    }
    if (dir) await rm(dir, { recursive: true, force: true });
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
