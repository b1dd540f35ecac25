/**
 * Certificate rotation without a restart, as with nginx: after the files are renewed (the
 * config text unchanged), SIGHUP to `ballast start` makes new handshakes get the new
 * certificate. A missing key refuses the reload, by SIGHUP and by the admin API alike, and
 * the running certificate stays.
 */
import assert from "node:assert/strict";
import { copyFileSync, mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { test } from "node:test";
import { startBallast } from "../support/ballast-start.js";
import {
  makeCertificate,
  servedFingerprint,
  type TestCertificate,
} from "../support/certificates.js";
import { waitFor } from "../support/wait.js";
import { configFile, startBackend } from "./helpers.js";

test("SIGHUP serves renewed certificate files; a missing key is refused and the old certificate stays", async (t) => {
  const dir = mkdtempSync(join(tmpdir(), "ballast-sighup-tls-"));
  const first = makeCertificate(dir, "first");
  const renewed = makeCertificate(dir, "renewed");
  const live = { cert: join(dir, "live.crt"), key: join(dir, "live.key") };
  const install = (certificate: TestCertificate) => {
    copyFileSync(certificate.cert, live.cert);
    copyFileSync(certificate.key, live.key);
  };
  install(first);
  const backend = await startBackend("b1");
  const yaml = [
    "listeners:",
    `  - { name: web, protocol: http, bind: "127.0.0.1:0", default_pool: api, access_log: false, tls: { cert: "${live.cert}", key: "${live.key}" } }`,
    "pools:",
    `  api: { backends: [{ name: b1, address: "${backend.address}" }] }`,
    'admin: { bind: "127.0.0.1:0", token: "hup" }',
    "log: { level: info }",
    "",
  ].join("\n");
  const file = configFile(yaml);
  const ballast = startBallast(file.path);
  const { child, find, count, logs } = ballast;
  t.after(async () => {
    await ballast.kill();
    file.cleanup();
    rmSync(dir, { recursive: true, force: true });
    await backend.close();
  });
  await waitFor("the admin API to listen", () => find("admin API listening") !== undefined, 10_000);
  const port = logs.find((l) => l.msg === "listening" && l.listener === "web")!.port as number;
  assert.equal(await servedFingerprint(port), first.fingerprint256);

  install(renewed);
  child.kill("SIGHUP");
  await waitFor("the renewed certificate", () => find("certificate reloaded") !== undefined);
  assert.equal(find("certificate reloaded")!.fingerprint256, renewed.fingerprint256);
  assert.equal(await servedFingerprint(port), renewed.fingerprint256);

  rmSync(live.key);
  child.kill("SIGHUP");
  await waitFor("the reload to be refused", () => count("reload refused: bad config") === 1);
  assert.match(
    JSON.stringify(find("reload refused: bad config")),
    /listeners\[0\]\.tls\.key: cannot read .*live\.key: ENOENT/,
  );
  const adminPort = find("admin API listening")!.port as number;
  const answer = await fetch(`http://127.0.0.1:${adminPort}/api/reload`, {
    method: "POST",
    headers: { authorization: "Bearer hup", "content-type": "application/yaml" },
    body: yaml,
  });
  assert.equal(answer.status, 422);
  assert.match(await answer.text(), /listeners\[0\]\.tls\.key: cannot read/);
  assert.equal(await servedFingerprint(port), renewed.fingerprint256);
  assert.equal(ballast.exitCode, undefined, "a refused reload does not stop the balancer");

  child.kill("SIGTERM");
  assert.equal(await ballast.exited, 0, "a graceful stop exits 0");
});
