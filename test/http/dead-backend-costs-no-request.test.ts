/**
 * With the default config, a backend SIGKILLed under load costs no request: passive
 * detection is on (nginx's max_fails=1 fail_timeout=10s), and a connect failure is retried
 * on another backend without spending the retry budget. Real load from wrk, bounded in time.
 */
import assert from "node:assert/strict";
import { type ChildProcess, spawn } from "node:child_process";
import { once } from "node:events";
import { dirname, join } from "node:path";
import { after, describe, it } from "node:test";
import { fileURLToPath } from "node:url";
import { parseConfigText } from "../../src/config/load.js";
import { Runtime } from "../../src/runtime/runtime.js";
import { run } from "../support/daemon.js";
import { requireProgram } from "../support/programs.js";

const fixture = join(dirname(fileURLToPath(import.meta.url)), "fixtures", "name-server.js");

async function startBackendProcess(name: string): Promise<{ child: ChildProcess; port: number }> {
  const child = spawn(process.execPath, [fixture, name], { stdio: ["ignore", "pipe", "inherit"] });
  const [line] = (await once(child.stdout!, "data")) as [Buffer];
  return { child, port: Number(line.toString().trim()) };
}

describe("a dead backend under the default config", () => {
  const children: ChildProcess[] = [];
  let runtime: Runtime | undefined;
  after(async () => {
    await runtime?.stop({ graceful: false });
    for (const child of children) child.kill("SIGKILL");
  });

  it("wrk with 50 connections: one of three backends SIGKILLed mid-run, zero non-2xx", async () => {
    const wrk = requireProgram("wrk");
    const backends = await Promise.all(["a", "b", "c"].map(startBackendProcess));
    children.push(...backends.map((b) => b.child));
    // Nothing but what a first config needs: no passive, retries or health sections.
    const yaml = [
      "listeners:",
      "  - { name: web, protocol: http, bind: '127.0.0.1:0', default_pool: p, access_log: false }",
      "pools:",
      "  p:",
      "    backends:",
      ...backends.map((b, i) => `      - { name: ${"abc"[i]}, address: '127.0.0.1:${b.port}' }`),
    ].join("\n");
    runtime = new Runtime(parseConfigText(yaml, "default.yaml"));
    await runtime.start();
    const port = runtime.listeners.get("web")!.address().port;
    const victim = backends[1].child;
    const kill = setTimeout(() => victim.kill("SIGKILL"), 2500);
    const { code, stdout, stderr } = await run(wrk, [
      "-t1",
      "-c50",
      "-d7s",
      "--latency",
      // A slow answer on a loaded machine is not a lost one: only errors count here.
      "--timeout",
      "30s",
      `http://127.0.0.1:${port}/`,
    ]);
    const output = stdout + stderr;
    clearTimeout(kill);
    assert.equal(code, 0, output);
    const requests = Number(/(\d+) requests in/.exec(output)?.[1] ?? 0);
    assert.ok(requests > 300, `wrk made too few requests to say anything:\n${output}`);
    assert.ok(victim.signalCode === "SIGKILL", "the victim was killed during the run");
    assert.doesNotMatch(output, /Non-2xx or 3xx responses/, output);
    assert.doesNotMatch(output, /Socket errors/, output);
    // (wrk prints that line only when a connect, read, write or timeout error happened.)
    const state = runtime.pools.get("p")!.backends.find((b) => b.id === "b")!;
    assert.ok(state.suspendedUntil > 0, "passive detection suspended the dead backend");
  });
});
