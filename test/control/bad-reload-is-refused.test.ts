import assert from "node:assert/strict";
import { test } from "node:test";
import { reloadFromFile } from "../../src/runtime/reload.js";
import { adminCall, httpConfigYaml, startBackends, startStack } from "./helpers.js";

test("a bad reload is refused with the config errors, the old config stays and traffic continues", async (t) => {
  const backends = await startBackends(2);
  const good = httpConfigYaml({ pools: { api: { backends } }, defaultPool: "api" });
  const stack = await startStack(good);
  t.after(async () => {
    await stack.stop();
    await Promise.all(backends.map((b) => b.close()));
  });
  const before = stack.runtime.config;
  const poolBefore = stack.runtime.pools.get("api");

  // Traffic runs through every refused reload below; none of it may fail.
  let stop = false;
  let ok = 0;
  const failures: string[] = [];
  const load = (async () => {
    for (let i = 0; i < 5000 && !stop; i++) {
      try {
        const response = await fetch(`${stack.webUrl}/x`);
        const body = await response.text();
        if (response.status === 200 && body.startsWith("b")) ok++;
        else failures.push(`${response.status} ${body}`);
      } catch (error) {
        failures.push(String(error));
      }
    }
  })();

  const badWeight = good.replace(
    `{ name: b1, address: "${backends[0].address}" }`,
    `{ name: b1, address: "${backends[0].address}", weight: -3 }`,
  );
  assert.notEqual(badWeight, good);
  stack.file.write(badWeight);
  const fromFile = await reloadFromFile(stack.runtime);
  assert.equal(fromFile.ok, false);
  assert.ok(!fromFile.ok);
  assert.match(fromFile.errors.join("\n"), /pools\.api\.backends\[0\]\.weight/);
  assert.ok(fromFile.errors[0].startsWith(stack.file.path), "the error names the file");

  const unknownPool = good.replace("default_pool: api", "default_pool: nowhere");
  const fromBody = await adminCall(stack, "POST", "/api/reload", unknownPool);
  assert.equal(fromBody.status, 422);
  assert.match(fromBody.body.error, /refused/);
  assert.match(
    fromBody.body.errors.join("\n"),
    /listeners\[0\]\.default_pool.*unknown pool "nowhere"/,
  );

  const syntax = await adminCall(stack, "POST", "/api/reload", "listeners: [\n  - oops");
  assert.equal(syntax.status, 422);
  assert.match(syntax.body.errors[0], /YAML syntax error/);

  // The running config and pools are untouched, and requests kept being served.
  assert.equal(stack.runtime.config, before);
  assert.equal(stack.runtime.pools.get("api"), poolBefore);
  assert.equal(stack.runtime.reloads, 0);
  await new Promise((resolve) => setTimeout(resolve, 50));
  stop = true;
  await load;
  assert.deepEqual(failures, []);
  assert.ok(ok > 0);

  // The file fixed again: the next reload goes through.
  stack.file.write(
    good.replace(
      `address: "${backends[1].address}" }`,
      `address: "${backends[1].address}", weight: 2 }`,
    ),
  );
  const fixed = await reloadFromFile(stack.runtime);
  assert.equal(fixed.ok, true);
  assert.equal(stack.runtime.pools.get("api")?.get("b2")?.configuredWeight, 2);
});
