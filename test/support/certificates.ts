/** Self-signed certificates made with the openssl CLI, and a TLS client that reports what it was served. */
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { X509Certificate } from "node:crypto";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { connect, type TLSSocket } from "node:tls";
import { requireProgram } from "./programs.js";
import { tempDir } from "./temp-dir.js";

/** A certificate and its key as PEM files, and the certificate's SHA-256 fingerprint. */
export interface TestCertificate {
  cert: string;
  key: string;
  fingerprint256: string;
}

/** Makes a self-signed P-256 certificate for `subject` at `dir/<name>.crt` and `.key`. */
export function makeCertificate(dir: string, name: string, subject = name): TestCertificate {
  const cert = join(dir, `${name}.crt`);
  const key = join(dir, `${name}.key`);
  const made = spawnSync(
    requireProgram("openssl"),
    [
      "req",
      "-x509",
      "-newkey",
      "ec",
      "-pkeyopt",
      "ec_paramgen_curve:prime256v1",
      "-nodes",
      "-days",
      "1",
      "-subj",
      `/CN=${subject}`,
      "-keyout",
      key,
      "-out",
      cert,
    ],
    { encoding: "utf8", timeout: 10_000 },
  );
  assert.equal(made.status, 0, made.stderr);
  return { cert, key, fingerprint256: new X509Certificate(readFileSync(cert)).fingerprint256 };
}

/** A certificate and key in PEM files of their own temp dir; `cleanup` removes them. */
export interface CertificateFiles extends TestCertificate {
  cleanup(): void;
}

/** A fresh self-signed certificate for `commonName` in a temp dir of its own. */
export function selfSignedCertificate(commonName = "localhost"): CertificateFiles {
  const dir = tempDir("cert");
  try {
    return { ...makeCertificate(dir.path, "cert", commonName), cleanup: dir.cleanup };
  } catch (error) {
    dir.cleanup();
    throw error;
  }
}

/** Opens a TLS connection to 127.0.0.1:port (any certificate accepted) once the handshake is done. */
export function connectTls(port: number): Promise<TLSSocket> {
  return new Promise((resolve, reject) => {
    const socket = connect({ host: "127.0.0.1", port, rejectUnauthorized: false }, () => {
      socket.off("error", reject);
      resolve(socket);
    });
    socket.once("error", reject);
  });
}

/** The fingerprint of the certificate a fresh handshake with 127.0.0.1:port is served. */
export async function servedFingerprint(port: number): Promise<string> {
  const socket = await connectTls(port);
  const fingerprint = socket.getPeerCertificate().fingerprint256;
  socket.destroy();
  return fingerprint;
}
