/** Every file in examples/ loads and passes `ballast check`. */
import assert from "node:assert/strict";
import { readdirSync } from "node:fs";
import { join } from "node:path";
import { describe, it } from "node:test";
import { loadConfigFile } from "../../src/config/load.js";
import { examplesDir, runCli } from "./cli.js";

const files = readdirSync(examplesDir).filter((name) => /\.ya?ml$/.test(name));

describe("examples", () => {
  it("there are examples for http, tcp, udp, hashing and health checks", () => {
    assert.ok(files.length >= 5, `found ${files.join(", ")}`);
  });

  for (const name of files) {
    it(`${name} loads and passes ballast check`, async () => {
      const path = join(examplesDir, name);
      const config = await loadConfigFile(path, { env: {} });
      assert.ok(config.listeners.length > 0);
      const result = runCli(["check", "--config", path]);
      assert.equal(result.status, 0, result.stderr);
      assert.match(result.stdout, /: ok: \d+ listeners? /);
    });
  }
});
