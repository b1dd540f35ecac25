/** TLS termination: HTTPS in front, plain HTTP to the backend, X-Forwarded-Proto: https. */
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { mkdtempSync, rmSync } from "node:fs";
import { request } from "node:https";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, describe, it } from "node:test";
import {
  backendsOf,
  startBackend,
  startProxy,
  type TestBackend,
  type TestProxy,
} from "./helpers.js";

describe("http tls termination", () => {
  const dir = mkdtempSync(join(tmpdir(), "ballast-tls-"));
  let backend: TestBackend;
  let proxy: TestProxy;
  after(async () => {
    await proxy?.close();
    await backend?.close();
    rmSync(dir, { recursive: true, force: true });
  });

  it("serves HTTPS with a configured certificate and tells the backend", async () => {
    const cert = join(dir, "cert.pem");
    const key = join(dir, "key.pem");
    const made = spawnSync("openssl", [
      "req",
      "-x509",
      "-newkey",
      "rsa:2048",
      "-nodes",
      "-days",
      "1",
      "-subj",
      "/CN=localhost",
      "-keyout",
      key,
      "-out",
      cert,
    ]);
    assert.equal(made.status, 0, String(made.stderr));
    backend = await startBackend("b", (req, res) => {
      req.resume();
      res.end(String(req.headers["x-forwarded-proto"]));
    });
    proxy = await startProxy(
      { default_pool: "p", tls: { cert, key } },
      { p: { backends: backendsOf([backend]) } },
    );
    const body = await new Promise<string>((resolve, reject) => {
      const req = request(
        { host: "127.0.0.1", port: proxy.port, path: "/", rejectUnauthorized: false, agent: false },
        (res) => {
          let text = "";
          res.setEncoding("utf8");
          res.on("data", (chunk: string) => {
            text += chunk;
          });
          res.on("end", () => resolve(text));
        },
      );
      req.on("error", reject);
      req.end();
    });
    assert.equal(body, "https");
  });
});
