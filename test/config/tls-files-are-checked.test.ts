/**
 * `tls.cert` and `tls.key` are read and checked when the config is loaded: `check` and
 * `start` name the file, the path inside it and what is wrong, and exit 1 (no stack trace),
 * for a missing file, one that holds no PEM, a key of another certificate, or a FIFO.
 */
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, describe, it } from "node:test";
import { parseConfigText } from "../../src/config/load.js";
import { makeCertificate } from "../support/certificates.js";
import { requireProgram } from "../support/programs.js";
import { configWith, runCli, tempConfigDir } from "./cli.js";

const dir = tempConfigDir();
const certs = mkdtempSync(join(tmpdir(), "ballast-tls-check-"));
after(() => {
  dir.cleanup();
  rmSync(certs, { recursive: true, force: true });
});
const site = makeCertificate(certs, "site");
const other = makeCertificate(certs, "other");

function withTls(cert: string, key: string): string {
  return configWith({ listener: `    tls: { cert: "${cert}", key: "${key}" }` });
}

/** Runs `ballast <command>` on the config and asserts exit 1 without a stack trace. */
function refused(command: "check" | "start", name: string, text: string): string {
  const path = dir.write(name, text);
  const result = runCli([command, "--config", path]);
  assert.equal(result.status, 1, `${command} exit status; stderr: ${result.stderr}`);
  assert.doesNotMatch(result.stderr, /^\s+at /m, "no stack trace");
  assert.ok(result.stderr.includes(`${path}: listeners[0].tls.`), result.stderr);
  return result.stderr;
}

describe("tls files", () => {
  it("check and start refuse a certificate file that does not exist", () => {
    const missing = join(certs, "missing.crt");
    for (const command of ["check", "start"] as const) {
      const stderr = refused(command, "missing.yaml", withTls(missing, site.key));
      assert.ok(
        stderr.includes(`listeners[0].tls.cert: cannot read ${missing}: ENOENT (no such file)`),
        stderr,
      );
    }
  });

  it("a missing key and a missing certificate are both reported", () => {
    const stderr = refused(
      "check",
      "both.yaml",
      withTls(join(certs, "no.crt"), join(certs, "no.key")),
    );
    assert.match(stderr, /listeners\[0\]\.tls\.cert: cannot read .*no\.crt: ENOENT/);
    assert.match(stderr, /listeners\[0\]\.tls\.key: cannot read .*no\.key: ENOENT/);
  });

  it("a key that belongs to another certificate is refused", () => {
    const stderr = refused("check", "mismatch.yaml", withTls(site.cert, other.key));
    assert.ok(
      stderr.includes(
        `listeners[0].tls.key: the key does not belong to the certificate in ${site.cert}`,
      ),
      stderr,
    );
  });

  it("files that hold no PEM, or the key where the certificate goes, are refused", () => {
    const junk = join(certs, "junk.pem");
    writeFileSync(junk, "not a certificate\n");
    let stderr = refused("check", "junk.yaml", withTls(junk, junk));
    assert.match(stderr, /tls\.cert: .*junk\.pem holds no PEM certificate/);
    assert.match(stderr, /tls\.key: .*junk\.pem holds no usable PEM private key/);
    stderr = refused("check", "swapped.yaml", withTls(site.key, site.cert));
    assert.match(stderr, /tls\.cert: .*site\.key holds no PEM certificate/);
    assert.doesNotMatch(stderr, /PRIVATE KEY-----\n[A-Za-z0-9+/]/, "never prints the key");
  });

  it("a FIFO is refused at once instead of blocking the load", () => {
    const fifo = join(certs, "fifo");
    assert.equal(spawnSync(requireProgram("mkfifo"), [fifo]).status, 0);
    const stderr = refused("check", "fifo.yaml", withTls(fifo, site.key));
    assert.ok(stderr.includes(`tls.cert: cannot read ${fifo}: not a regular file`), stderr);
  });

  it("a matching pair passes, as files or inline PEM, and the key never shows in the config", () => {
    const result = runCli([
      "check",
      "--config",
      dir.write("good.yaml", withTls(site.cert, site.key)),
    ]);
    assert.equal(result.status, 0, result.stderr);
    const config = parseConfigText(withTls(site.cert, site.key), "good.yaml");
    const listener = config.listeners[0];
    assert.equal(
      listener.protocol === "http" && listener.tls?.loaded.fingerprint256,
      site.fingerprint256,
    );
    assert.doesNotMatch(JSON.stringify(config), /PRIVATE KEY/);

    const block = (file: string) =>
      `|\n${readFileSync(file, "utf8")
        .trimEnd()
        .split("\n")
        .map((line) => `        ${line}`)
        .join("\n")}`;
    const inline = configWith({
      listener: `    tls:\n      cert: ${block(site.cert)}\n      key: ${block(site.key)}`,
    });
    const loaded = parseConfigText(inline, "inline.yaml").listeners[0];
    assert.equal(
      loaded.protocol === "http" && loaded.tls?.loaded.fingerprint256,
      site.fingerprint256,
    );
    assert.throws(
      () => parseConfigText(inline.replace(block(site.key), block(other.key)), "inline.yaml"),
      /inline\.yaml: listeners\[0\]\.tls\.key: the key does not belong to the certificate in the inline PEM/,
    );
  });
});
