/**
 * A reload applies `tls`: renewed certificate files (the config text unchanged) are served
 * to new handshakes while open connections keep going; a missing file refuses the reload
 * and the running certificate stays; adding or removing `tls` replaces the listener.
 */
import assert from "node:assert/strict";
import { copyFileSync, mkdtempSync, renameSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, describe, it } from "node:test";
import type { TLSSocket } from "node:tls";
import { reloadFromFile } from "../../src/runtime/reload.js";
import {
  connectTls,
  makeCertificate,
  servedFingerprint,
  type TestCertificate,
} from "../support/certificates.js";
import { type Stack, startBackend, startStack, type TestBackend } from "./helpers.js";

/** One http listener "web" on an ephemeral port, with `tls` when given. */
function yaml(backend: TestBackend, tls?: { cert: string; key: string }): string {
  return [
    "listeners:",
    "  - name: web",
    "    protocol: http",
    '    bind: "127.0.0.1:0"',
    "    default_pool: api",
    "    access_log: false",
    ...(tls ? [`    tls: { cert: "${tls.cert}", key: "${tls.key}" }`] : []),
    "pools:",
    "  api:",
    `    backends: [{ name: b1, address: "${backend.address}" }]`,
    "log: { level: silent }",
    "",
  ].join("\n");
}

/** Sends one keep-alive GET on an open socket and resolves with the response body. */
function get(socket: TLSSocket): Promise<string> {
  return new Promise((resolve, reject) => {
    let text = "";
    const onData = (chunk: Buffer) => {
      text += chunk.toString("latin1");
      const body = bodyOf(text);
      if (body === undefined) return;
      socket.off("data", onData);
      socket.off("error", reject);
      resolve(body);
    };
    socket.on("data", onData);
    socket.once("error", reject);
    socket.write("GET / HTTP/1.1\r\nHost: web\r\n\r\n");
  });
}

/** The body of a complete response (content-length or chunked), undefined until complete. */
function bodyOf(text: string): string | undefined {
  const end = text.indexOf("\r\n\r\n");
  if (end < 0) return undefined;
  const rest = text.slice(end + 4);
  const length = /\r\ncontent-length: (\d+)/i.exec(text.slice(0, end));
  if (length !== null) {
    return rest.length < Number(length[1]) ? undefined : rest.slice(0, Number(length[1]));
  }
  if (!rest.endsWith("0\r\n\r\n")) return undefined;
  let body = "";
  for (let at = 0; ; ) {
    const lineEnd = rest.indexOf("\r\n", at);
    const size = Number.parseInt(rest.slice(at, lineEnd), 16);
    if (!(size > 0)) return body;
    body += rest.slice(lineEnd + 2, lineEnd + 2 + size);
    at = lineEnd + 2 + size + 2;
  }
}

describe("reload applies tls", () => {
  const dir = mkdtempSync(join(tmpdir(), "ballast-tls-reload-"));
  let backend: TestBackend;
  let stack: Stack;
  let first: TestCertificate;
  let renewed: TestCertificate;
  /** The files the config names; tests copy certificates over them. */
  const live = { cert: join(dir, "live.crt"), key: join(dir, "live.key") };
  const install = (certificate: TestCertificate) => {
    copyFileSync(certificate.cert, live.cert);
    copyFileSync(certificate.key, live.key);
  };
  const port = () => stack.runtime.listeners.get("web")!.address().port;

  before(async () => {
    first = makeCertificate(dir, "first");
    renewed = makeCertificate(dir, "renewed");
    install(first);
    backend = await startBackend("b1");
    stack = await startStack(yaml(backend, live));
  });
  after(async () => {
    await stack?.stop();
    await backend?.close();
    rmSync(dir, { recursive: true, force: true });
  });

  it("renewed files reach new handshakes; an open connection keeps its certificate", async () => {
    const open = await connectTls(port());
    try {
      assert.equal(open.getPeerCertificate().fingerprint256, first.fingerprint256);
      assert.equal(await get(open), "b1");

      install(renewed);
      const outcome = await reloadFromFile(stack.runtime);
      assert.ok(outcome.ok, JSON.stringify(outcome));
      assert.equal(outcome.changed, true);
      assert.deepEqual(outcome.summary.listenersUpdated, ["web"]);
      assert.deepEqual(outcome.notApplied, []);

      assert.equal(await servedFingerprint(port()), renewed.fingerprint256);
      assert.equal(await get(open), "b1", "the open connection still serves");
      assert.equal(open.getPeerCertificate().fingerprint256, first.fingerprint256);
    } finally {
      open.destroy();
    }
  });

  it("a reload with the same files changes nothing", async () => {
    const outcome = await reloadFromFile(stack.runtime);
    assert.ok(outcome.ok, JSON.stringify(outcome));
    assert.equal(outcome.changed, false);
  });

  it("a missing file refuses the reload and the running certificate stays", async () => {
    renameSync(live.key, `${live.key}.moved`);
    try {
      const outcome = await reloadFromFile(stack.runtime);
      assert.equal(outcome.ok, false);
      assert.match(
        outcome.ok ? "" : outcome.errors.join("\n"),
        /listeners\[0\]\.tls\.key: cannot read .*live\.key: ENOENT/,
      );
      assert.equal(await servedFingerprint(port()), renewed.fingerprint256);
    } finally {
      renameSync(`${live.key}.moved`, live.key);
    }
  });

  it("removing tls serves plain HTTP, adding it back serves HTTPS", async () => {
    stack.file.write(yaml(backend));
    let outcome = await reloadFromFile(stack.runtime);
    assert.ok(outcome.ok, JSON.stringify(outcome));
    assert.deepEqual(outcome.summary.listenersReplaced, ["web"]);
    const plain = await fetch(`http://127.0.0.1:${port()}/`);
    assert.equal(await plain.text(), "b1");

    stack.file.write(yaml(backend, live));
    outcome = await reloadFromFile(stack.runtime);
    assert.ok(outcome.ok, JSON.stringify(outcome));
    assert.deepEqual(outcome.summary.listenersReplaced, ["web"]);
    assert.deepEqual(outcome.notApplied, []);
    const socket = await connectTls(port());
    try {
      assert.equal(socket.getPeerCertificate().fingerprint256, renewed.fingerprint256);
      assert.equal(await get(socket), "b1");
    } finally {
      socket.destroy();
    }
  });
});
