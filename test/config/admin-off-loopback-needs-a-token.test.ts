/**
 * An admin API on a non-loopback address without a token is refused by `check`, `start` and
 * a reload, unless `admin.insecure_public: true` says the user wants it (then it is read-only
 * and `check` warns).
 */
import assert from "node:assert/strict";
import { after, describe, it } from "node:test";
import { ConfigError, parseConfigText } from "../../src/config/load.js";
import { reloadFromText } from "../../src/runtime/reload.js";
import { Runtime } from "../../src/runtime/runtime.js";
import { runCli, tempConfigDir } from "./cli.js";

const config = (admin: string) => `listeners:
  - { name: web, protocol: http, bind: "127.0.0.1:0", default_pool: api, access_log: false }
pools:
  api:
    backends: [{ address: "127.0.0.1:3001" }]
admin: ${admin}
log: { level: silent }
`;

function errorOf(run: () => unknown): ConfigError {
  try {
    run();
  } catch (error) {
    assert.ok(error instanceof ConfigError, String(error));
    return error;
  }
  assert.fail("expected a ConfigError");
}

const dir = tempConfigDir();
after(() => dir.cleanup());

describe("admin API off loopback without a token", () => {
  it("is refused for wildcard, private and host-name binds, naming admin.bind and the ways out", () => {
    for (const bind of [
      '"0.0.0.0:9090"',
      "9090",
      '"[::]:9090"',
      '"10.1.2.3:9090"',
      '"admin.example:9090"',
    ]) {
      const error = errorOf(() => parseConfigText(config(`{ bind: ${bind} }`), "admin.yaml"));
      assert.equal(error.issues.length, 1, bind);
      assert.equal(error.issues[0].path, "admin.bind", bind);
      assert.match(error.message, /no token/, bind);
      assert.match(error.message, /admin\.token/, bind);
      assert.match(error.message, /insecure_public: true/, bind);
    }
  });

  it("is accepted on loopback, with a token, or with insecure_public: true", () => {
    for (const admin of [
      "{}",
      '{ bind: "127.0.0.5:9090" }',
      '{ bind: "[::1]:9090" }',
      '{ bind: "localhost:9090" }',
      '{ bind: "0.0.0.0:9090", token: "s3cret" }',
      '{ bind: "0.0.0.0:9090", insecure_public: true }',
    ]) {
      assert.doesNotThrow(() => parseConfigText(config(admin), "admin.yaml"), admin);
    }
  });

  it("`ballast check` refuses it, and warns when insecure_public opts in", () => {
    const refused = runCli([
      "check",
      "--config",
      dir.write("public.yaml", config('{ bind: "0.0.0.0:9090" }')),
    ]);
    assert.equal(refused.status, 1, refused.stderr);
    assert.match(refused.stderr, /public\.yaml: admin\.bind: .*no token/);

    const optedIn = dir.write(
      "opted-in.yaml",
      config('{ bind: "0.0.0.0:9090", insecure_public: true }'),
    );
    const warned = runCli(["check", "--config", optedIn]);
    assert.equal(warned.status, 0, warned.stderr);
    assert.match(warned.stderr, /warning: .*0\.0\.0\.0:9090.*without a token/);
  });

  it("`ballast start` refuses it before listening on anything", () => {
    const started = runCli([
      "start",
      "--config",
      dir.write("start.yaml", config("{ bind: 9090 }")),
    ]);
    assert.equal(started.status, 1, started.stderr);
    assert.match(started.stderr, /admin\.bind: .*no token/);
  });

  it("a reload to such a config is refused and the running one stays", async () => {
    const runtime = new Runtime(parseConfigText(config("{}"), "good.yaml"));
    await runtime.start();
    try {
      const outcome = await reloadFromText(runtime, config('{ bind: "0.0.0.0:9090" }'));
      assert.equal(outcome.ok, false);
      assert.match(outcome.ok ? "" : outcome.errors.join("\n"), /admin\.bind: .*no token/);
      assert.deepEqual(runtime.config.admin?.bind, { host: "127.0.0.1", port: 9090 });
    } finally {
      await runtime.stop({ graceful: false });
    }
  });
});
