/** TLS termination: HTTPS in front, plain HTTP to the backend, X-Forwarded-Proto: https. */
import assert from "node:assert/strict";
import { request } from "node:https";
import { after, describe, it } from "node:test";
import { type CertificateFiles, selfSignedCertificate } from "../support/certificates.js";
import {
  backendsOf,
  startBackend,
  startProxy,
  type TestBackend,
  type TestProxy,
} from "./helpers.js";

describe("http tls termination", () => {
  let certificate: CertificateFiles | undefined;
  let backend: TestBackend;
  let proxy: TestProxy;
  after(async () => {
    await proxy?.close();
    await backend?.close();
    certificate?.cleanup();
  });

  it("serves HTTPS with a configured certificate and tells the backend", async () => {
    certificate = selfSignedCertificate();
    const { cert, key } = certificate;
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
