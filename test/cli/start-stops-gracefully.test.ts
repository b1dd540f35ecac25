/**
 * `ballast start`: SIGTERM lets an in-flight request finish, then the process exits 0; a
 * second signal exits at once; a bad config exits 1 before anything listens.
 */
import assert from "node:assert/strict";
import { type ChildProcess, spawn } from "node:child_process";
import { once } from "node:events";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { createInterface } from "node:readline";
import { after, describe, it } from "node:test";
import { fileURLToPath } from "node:url";

const cliPath = fileURLToPath(new URL("../../src/cli/main.js", import.meta.url));
const dir = mkdtempSync(join(tmpdir(), "ballast-start-"));
const children: ChildProcess[] = [];
const servers: Server[] = [];

after(async () => {
  for (const child of children) if (child.exitCode === null) child.kill("SIGKILL");
  for (const server of servers) {
    server.closeAllConnections();
    server.close();
  }
  rmSync(dir, { recursive: true, force: true });
});

/** A backend that answers after `delayMs`; `Infinity` never answers. */
async function backend(delayMs: number): Promise<number> {
  const server = createServer((_request, response) => {
    if (delayMs === Number.POSITIVE_INFINITY) return;
    const timer = setTimeout(() => response.end("slow but complete"), delayMs);
    response.on("close", () => clearTimeout(timer));
  });
  servers.push(server);
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  return (server.address() as AddressInfo).port;
}

function writeConfig(name: string, backendPort: number): string {
  const path = join(dir, name);
  writeFileSync(
    path,
    `listeners:
  - { name: web, protocol: http, bind: "127.0.0.1:0", default_pool: api, access_log: false }
pools:
  api:
    backends: [{ address: "127.0.0.1:${backendPort}" }]
log: { level: info }
`,
  );
  return path;
}

/** Starts `ballast start` and resolves with the listener's port from its "listening" log line. */
async function start(config: string): Promise<{ child: ChildProcess; port: number }> {
  const child = spawn(process.execPath, [cliPath, "start", "--config", config], {
    stdio: ["ignore", "pipe", "pipe"],
  });
  children.push(child);
  const port = await new Promise<number>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error("no listening line after 15 s")), 15_000);
    createInterface({ input: child.stdout! }).on("line", (line) => {
      const entry = safeParse(line);
      if (entry?.msg === "listening" && typeof entry.port === "number") {
        clearTimeout(timer);
        resolve(entry.port);
      }
    });
    child.once("exit", (code) => reject(new Error(`exited early with ${code}`)));
  });
  return { child, port };
}

function safeParse(line: string): Record<string, unknown> | undefined {
  try {
    return JSON.parse(line) as Record<string, unknown>;
  } catch {
    return undefined;
  }
}

describe("ballast start", () => {
  it("on SIGTERM finishes the in-flight request, then exits 0", async () => {
    const { child, port } = await start(writeConfig("slow.yaml", await backend(400)));
    const response = fetch(`http://127.0.0.1:${port}/`, { signal: AbortSignal.timeout(10_000) });
    // Let the request reach the backend before the signal.
    await new Promise((resolve) => setTimeout(resolve, 100));
    child.kill("SIGTERM");
    const answered = await response;
    assert.equal(answered.status, 200);
    assert.equal(await answered.text(), "slow but complete");
    const [code] = await once(child, "exit");
    assert.equal(code, 0);
  });

  it("a second signal exits at once while a request hangs", async () => {
    const { child, port } = await start(
      writeConfig("hang.yaml", await backend(Number.POSITIVE_INFINITY)),
    );
    fetch(`http://127.0.0.1:${port}/`, { signal: AbortSignal.timeout(10_000) }).catch(() => {});
    await new Promise((resolve) => setTimeout(resolve, 100));
    child.kill("SIGTERM");
    await new Promise((resolve) => setTimeout(resolve, 100));
    assert.equal(child.exitCode, null, "the first signal waits for the hanging request");
    child.kill("SIGTERM");
    const [code] = await once(child, "exit");
    assert.equal(code, 143);
  });

  it("a bad config exits 1 with the path of the mistake", async () => {
    const path = join(dir, "bad.yaml");
    writeFileSync(path, "listeners: []\npools: {}\n");
    const child = spawn(process.execPath, [cliPath, "start", "--config", path], {
      stdio: ["ignore", "pipe", "pipe"],
    });
    children.push(child);
    let stderr = "";
    child.stderr?.on("data", (chunk: Buffer) => {
      stderr += chunk.toString();
    });
    const [code] = await once(child, "exit");
    assert.equal(code, 1);
    assert.match(stderr, /bad\.yaml: listeners: at least one listener is needed/);
  });
});
