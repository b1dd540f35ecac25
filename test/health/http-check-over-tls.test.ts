import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { createServer } from "node:https";
import { test } from "node:test";
import { createHealthCheck } from "../../src/health/index.js";
import { selfSignedCertificate } from "../support/certificates.js";
import { closeServer, healthConfig, portOf } from "./helpers.js";

test("an HTTP check with tls: true speaks TLS (SSL_GET) and sends the host as SNI", async (t) => {
  const { cert, key, cleanup } = selfSignedCertificate("health.example.test");
  const seen: { servername: string | undefined; path: string | undefined }[] = [];
  const server = createServer(
    { key: readFileSync(key), cert: readFileSync(cert) },
    (request, response) => {
      const socket = request.socket as import("node:tls").TLSSocket;
      seen.push({
        servername: (socket as unknown as { servername?: string }).servername,
        path: request.url,
      });
      response.end("healthy");
    },
  );
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  t.after(async () => {
    await closeServer(server);
    cleanup();
  });
  const target = { host: "127.0.0.1", port: portOf(server) };
  const tls = createHealthCheck(
    healthConfig({
      type: "http",
      tls: true,
      path: "/ready",
      host: "health.example.test",
      expect_body: "^healthy$",
    }),
  );
  const result = await tls.check(target, new AbortController().signal);
  assert.deepEqual(result, {
    ok: true,
    detail: "status 200, body matched",
    status: "L7OK",
    code: 200,
  });
  assert.deepEqual(seen, [{ servername: "health.example.test", path: "/ready" }]);

  const plain = createHealthCheck(healthConfig({ type: "http" }));
  const refused = await plain.check(target, AbortSignal.timeout(2_000));
  assert.equal(refused.ok, false, "plain HTTP to a TLS port fails");
});
