/** `workers: 2`: two processes serve one port, and a SIGTERM stops them all gracefully. */
import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import { once } from "node:events";
import { describe, it } from "node:test";
import { fileURLToPath } from "node:url";
import { freePort } from "../support/ports.js";
import { fetchText } from "./helpers.js";

describe("http workers", () => {
  it("spreads connections over two worker processes and stops on SIGTERM", async () => {
    const port = await freePort();
    const main = fileURLToPath(new URL("./fixtures/cluster-main.js", import.meta.url));
    const child = spawn(process.execPath, [main, String(port)], {
      stdio: ["ignore", "pipe", "inherit"],
    });
    const kill = setTimeout(() => child.kill("SIGKILL"), 20_000);
    try {
      let output = "";
      child.stdout.setEncoding("utf8");
      const ready = new Promise<void>((resolve, reject) => {
        child.stdout.on("data", (text: string) => {
          output += text;
          if (output.includes("ready")) resolve();
        });
        child.once("exit", () => reject(new Error(`exited early: ${output}`)));
      });
      await ready;
      const pids = new Set<string>();
      for (let i = 0; i < 20; i++) {
        const reply = await fetchText(port, "/");
        assert.equal(reply.status, 200);
        pids.add(reply.body);
      }
      assert.equal(pids.size, 2, `answers came from ${[...pids].join(", ")}`);
      child.kill("SIGTERM");
      const [code] = await once(child, "exit");
      assert.equal(code, 0);
      assert.match(output, /all workers stopped/);
    } finally {
      clearTimeout(kill);
      if (child.exitCode === null) child.kill("SIGKILL");
    }
  });
});
