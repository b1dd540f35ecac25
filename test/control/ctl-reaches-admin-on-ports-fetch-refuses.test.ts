/**
 * `ballast ctl` reaches an admin API on a port that fetch refuses as "bad" (6000, 6666,
 * 10080, ...), as curl does: the port is the operator's choice, not a browser's.
 */
import assert from "node:assert/strict";
import { test } from "node:test";
import { type AdminServer, createAdminServer } from "../../src/admin/server.js";
import { parseConfigText } from "../../src/config/load.js";
import { Runtime } from "../../src/runtime/runtime.js";
import { ballastCtl } from "../support/ballast-cli.js";
import { httpConfigYaml, startBackends } from "./helpers.js";

/** Ports on fetch's list of bad ports; the first free one is used. */
const BAD_PORTS = [6666, 6665, 6667, 6668, 6669, 6697, 10080, 6000, 6566];

test("`ballast ctl` lists and changes backends through an admin API on a port fetch calls bad", async (t) => {
  const backends = await startBackends(2);
  const runtime = new Runtime(
    parseConfigText(httpConfigYaml({ pools: { api: { backends } }, defaultPool: "api" }), "x.yaml"),
  );
  await runtime.start();
  let admin: AdminServer | undefined;
  for (const port of BAD_PORTS) {
    const candidate = createAdminServer(runtime, {
      bind: { host: "127.0.0.1", port },
      token: "tok",
    });
    try {
      await candidate.start();
      admin = candidate;
      break;
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== "EADDRINUSE") throw error;
    }
  }
  t.after(async () => {
    await admin?.stop();
    await runtime.stop({ graceful: false });
    await Promise.all(backends.map((b) => b.close()));
  });
  assert.ok(admin, `every one of ${BAD_PORTS.join(", ")} is taken on 127.0.0.1`);
  // The premise: fetch itself refuses this port.
  await assert.rejects(fetch(`${admin.url()}/api/status`));

  const url = admin.url();
  const list = await ballastCtl(["list", "--admin", url, "--token", "tok"]);
  assert.equal(list.code, 0, list.stderr);
  assert.match(list.stdout, /^Pool api rr$/m);
  const disabled = await ballastCtl(["disable", "api", "b2", "--admin", url, "--token", "tok"]);
  assert.equal(disabled.code, 0, disabled.stderr);
  assert.equal(runtime.pools.get("api")?.get("b2")?.enabled, false);
  const reload = await ballastCtl(["reload", "--admin", url, "--token", "tok"]);
  assert.equal(reload.code, 1, reload.stderr);
  assert.match(
    reload.stderr,
    /not started from a file \(HTTP 422\)|runtime was not started from a file/,
  );
});
