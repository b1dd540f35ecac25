/** `ballast demo` starts real backends and a balancer; requests go through it; SIGTERM stops it. */
import assert from "node:assert/strict";
import { type ChildProcess, spawn } from "node:child_process";
import { once } from "node:events";
import { after, describe, it } from "node:test";
import { fileURLToPath } from "node:url";

const cliPath = fileURLToPath(new URL("../../src/cli/main.js", import.meta.url));

/** Waits until the demo prints its address; fails after 15 s. */
async function startDemo(): Promise<{ child: ChildProcess; base: string }> {
  const child = spawn(process.execPath, [cliPath, "demo", "--port", "0"], {
    stdio: ["ignore", "pipe", "pipe"],
  });
  let output = "";
  const base = await new Promise<string>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`no address after 15 s: ${output}`)), 15_000);
    child.stdout?.on("data", (chunk: Buffer) => {
      output += chunk.toString();
      const match = /listening on (http:\/\/\S+)/.exec(output);
      if (match) {
        clearTimeout(timer);
        resolve(match[1]);
      }
    });
    child.once("exit", (code) => {
      clearTimeout(timer);
      reject(new Error(`demo exited with ${code}: ${output}`));
    });
  });
  return { child, base };
}

async function backendName(url: string, headers: Record<string, string> = {}): Promise<string> {
  const response = await fetch(url, { headers, signal: AbortSignal.timeout(5_000) });
  assert.equal(response.status, 200);
  return (await response.text()).split(" ")[0];
}

describe("ballast demo", () => {
  let demo: { child: ChildProcess; base: string } | undefined;
  after(() => {
    if (demo?.child.exitCode === null) demo.child.kill("SIGKILL");
  });

  it("serves through the balancer with each pool's algorithm and stops on SIGTERM", async () => {
    demo = await startDemo();
    const names: string[] = [];
    for (let i = 0; i < 6; i++) names.push(await backendName(`${demo.base}/`));
    const count = (name: string) => names.filter((n) => n === name).length;
    assert.deepEqual([count("fast"), count("medium"), count("slow")], [3, 2, 1], names.join(" "));

    const alice: string[] = [];
    for (let i = 0; i < 3; i++)
      alice.push(await backendName(`${demo.base}/hash`, { "x-user": "alice" }));
    assert.equal(new Set(alice).size, 1, `one user, one backend: ${alice.join(" ")}`);

    demo.child.kill("SIGTERM");
    const [code] = await once(demo.child, "exit");
    assert.equal(code, 0);
  });
});
