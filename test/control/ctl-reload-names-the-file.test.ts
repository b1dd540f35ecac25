/** `ballast ctl reload -f FILE`: a missing file is one clear line; a bad file's errors name it. */
import assert from "node:assert/strict";
import { writeFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { test } from "node:test";
import { ballastCtl } from "../support/ballast-cli.js";
import { httpConfigYaml, STACK_TOKEN, startBackends, startStack } from "./helpers.js";

test("`ctl reload -f` of a missing file says so in one line and exits 1; a bad file's errors name the file", async (t) => {
  const backends = await startBackends(1);
  const stack = await startStack(
    httpConfigYaml({ pools: { api: { backends } }, defaultPool: "api" }),
  );
  t.after(async () => {
    await stack.stop();
    await Promise.all(backends.map((b) => b.close()));
  });
  const admin = ["--admin", stack.adminUrl, "--token", STACK_TOKEN];
  const folder = dirname(stack.file.path);

  const missing = await ballastCtl(["reload", "-f", join(folder, "missing.yaml"), ...admin]);
  assert.equal(missing.code, 1, missing.stderr);
  assert.equal(missing.stderr.trim().split("\n").length, 1, missing.stderr);
  assert.match(missing.stderr, /^ballast ctl: cannot read .*missing\.yaml: no such file/);
  assert.doesNotMatch(missing.stderr, /\n\s+at /);

  const bad = join(folder, "bad.yaml");
  writeFileSync(bad, "listeners: []\npools: {}\n");
  const refused = await ballastCtl(["reload", "-f", bad, ...admin]);
  assert.equal(refused.code, 1, refused.stderr);
  assert.match(refused.stderr, /reload refused/);
  assert.match(refused.stderr, /^ {2}.*bad\.yaml: listeners: /m);
  assert.doesNotMatch(refused.stderr, /request body/);

  // The name travels as a query parameter; control characters in it are refused.
  const odd = await fetch(`${stack.adminUrl}/api/reload?source=${encodeURIComponent("a\nb")}`, {
    method: "POST",
    headers: { authorization: `Bearer ${STACK_TOKEN}`, "content-type": "application/yaml" },
    body: "listeners: []\n",
  });
  assert.equal(odd.status, 400);
  assert.match(((await odd.json()) as { error: string }).error, /source/);
});
