/** Self-signed certificates made by openssl, for the TLS tests. */
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { join } from "node:path";
import { requireProgram } from "./programs.js";
import { tempDir } from "./temp-dir.js";

/** A certificate and key in PEM files; `cleanup` removes them. */
export interface CertificateFiles {
  cert: string;
  key: string;
  cleanup(): void;
}

/** A fresh self-signed P-256 certificate for `commonName`, valid for a day. */
export function selfSignedCertificate(commonName = "localhost"): CertificateFiles {
  const openssl = requireProgram("openssl");
  const dir = tempDir("cert");
  const cert = join(dir.path, "cert.pem");
  const key = join(dir.path, "key.pem");
  const made = spawnSync(openssl, [
    ...["req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes"],
    ...["-days", "1", "-subj", `/CN=${commonName}`, "-keyout", key, "-out", cert],
  ]);
  if (made.status !== 0) dir.cleanup();
  assert.equal(made.status, 0, `openssl req: ${made.stderr}`);
  return { cert, key, cleanup: dir.cleanup };
}
