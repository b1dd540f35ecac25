/** `workers: 2` in the config: `ballast start` forks two workers that serve, and stops them all on SIGTERM. */
import assert from "node:assert/strict";
import { type ChildProcess, spawn } from "node:child_process";
import { once } from "node:events";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { createServer, type Server } from "node:http";
import { type AddressInfo, createServer as createNetServer } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { createInterface } from "node:readline";
import { after, describe, it } from "node:test";
import { fileURLToPath } from "node:url";
import { freePort } from "../support/ports.js";

const cliPath = fileURLToPath(new URL("../../src/cli/main.js", import.meta.url));
const dir = mkdtempSync(join(tmpdir(), "ballast-workers-"));
let child: ChildProcess | undefined;
let backend: Server | undefined;

after(() => {
  if (child?.exitCode === null) child.kill("SIGKILL");
  backend?.closeAllConnections();
  backend?.close();
  rmSync(dir, { recursive: true, force: true });
});

describe("ballast start with workers", () => {
  it("forks two workers that both listen and serve, and exits 0 after SIGTERM", async () => {
    backend = createServer((_request, response) => response.end("ok"));
    await new Promise<void>((resolve) => backend!.listen(0, "127.0.0.1", resolve));
    const backendPort = (backend.address() as AddressInfo).port;
    // A fixed port: with port 0, each cluster worker would bind a different one.
    const port = await freePort();
    const config = join(dir, "workers.yaml");
    writeFileSync(
      config,
      `listeners:
  - { name: web, protocol: http, bind: "127.0.0.1:${port}", default_pool: api, access_log: false }
pools:
  api:
    backends: [{ address: "127.0.0.1:${backendPort}" }]
workers: 2
log: { level: info }
`,
    );
    child = spawn(process.execPath, [cliPath, "start", "--config", config], {
      stdio: ["ignore", "pipe", "pipe"],
    });
    const messages: string[] = [];
    await new Promise<void>((resolve, reject) => {
      const timer = setTimeout(
        () => reject(new Error(`not ready: ${messages.join(" | ")}`)),
        15_000,
      );
      createInterface({ input: child!.stdout! }).on("line", (line) => {
        try {
          messages.push(String((JSON.parse(line) as { msg?: unknown }).msg));
        } catch {
          messages.push(line);
        }
        if (messages.filter((m) => m === "listening").length === 2) {
          clearTimeout(timer);
          resolve();
        }
      });
    });
    assert.ok(messages.includes("started workers"), messages.join(" | "));

    for (let i = 0; i < 10; i++) {
      const response = await fetch(`http://127.0.0.1:${port}/`, {
        signal: AbortSignal.timeout(5_000),
      });
      assert.equal(await response.text(), "ok");
    }
    child.kill("SIGTERM");
    const [code] = await once(child, "exit");
    assert.equal(code, 0);
  });

  it("exits 1 instead of restarting forever when the workers cannot listen", {
    timeout: 30_000,
  }, async () => {
    // Hold the port, so every worker fails to bind.
    const holder = createNetServer();
    await new Promise<void>((resolve) => holder.listen(0, "127.0.0.1", resolve));
    const port = (holder.address() as AddressInfo).port;
    const config = join(dir, "taken.yaml");
    writeFileSync(
      config,
      `listeners:
  - { name: web, protocol: http, bind: "127.0.0.1:${port}", default_pool: api }
pools:
  api:
    backends: [{ address: "127.0.0.1:9" }]
workers: 2
log: { level: silent }
`,
    );
    try {
      const failing = spawn(process.execPath, [cliPath, "start", "--config", config], {
        stdio: ["ignore", "ignore", "pipe"],
      });
      child = failing;
      let stderr = "";
      failing.stderr!.on("data", (chunk) => {
        stderr += chunk;
      });
      const [code] = await once(failing, "exit");
      assert.equal(code, 1, stderr);
      assert.match(stderr, /worker could not start/);
    } finally {
      holder.close();
    }
  });
});
