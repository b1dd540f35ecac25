/** Config files of the TLS benchmark: each proxy terminates TLS with the same certificate. */
import { execFileSync } from "node:child_process";
import { readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import {
  haproxyConfig,
  nginxPreamble,
  nginxTempPaths,
  UPSTREAM_KEEPALIVE,
} from "../http/configs.js";

/** The certificate every proxy serves, and the same pair joined for HAProxy's `crt`. */
export interface Certificate {
  cert: string;
  key: string;
  /** Certificate then key in one file (HAProxy's format). */
  combined: string;
}

/** A self-signed ECDSA P-256 certificate for 127.0.0.1, written into `dir`. */
export function makeCertificate(dir: string): Certificate {
  const cert = join(dir, "cert.pem");
  const key = join(dir, "key.pem");
  execFileSync(
    "openssl",
    [
      "req",
      "-x509",
      "-newkey",
      "ec",
      "-pkeyopt",
      "ec_paramgen_curve:P-256",
      "-nodes",
      "-keyout",
      key,
      "-out",
      cert,
      "-days",
      "2",
      "-subj",
      "/CN=127.0.0.1",
      "-addext",
      "subjectAltName=IP:127.0.0.1",
    ],
    { stdio: "ignore" },
  );
  const combined = join(dir, "combined.pem");
  writeFileSync(combined, readFileSync(cert, "utf8") + readFileSync(key, "utf8"));
  return { cert, key, combined };
}

/**
 * nginx terminating TLS, with the session cache and tickets a production config has (both
 * resumption mechanisms, so clients of either kind resume).
 */
export function nginxTlsConfig(dir: string, port: number, backendPort: number, tls: Certificate) {
  return `${nginxPreamble(dir, "nginx-tls")}http {
  access_log off;
${nginxTempPaths(dir, "nginx-tls")}
  keepalive_requests 1000000;
  upstream backend {
    server 127.0.0.1:${backendPort};
    keepalive ${UPSTREAM_KEEPALIVE};
    keepalive_requests 1000000;
  }
  server {
    listen 127.0.0.1:${port} ssl;
    ssl_certificate ${tls.cert};
    ssl_certificate_key ${tls.key};
    ssl_protocols TLSv1.2 TLSv1.3;
    ssl_session_cache shared:SSL:10m;
    ssl_session_tickets on;
    location / {
      proxy_pass http://backend;
      proxy_http_version 1.1;
      proxy_set_header Connection "";
    }
  }
}
`;
}

/** HAProxy terminating TLS (its session cache is on by default), one thread. */
export function haproxyTlsConfig(port: number, backendPort: number, tls: Certificate) {
  return haproxyConfig(port, backendPort, `ssl crt ${tls.combined}`);
}

/** ballast terminating TLS on its HTTP listener (node's TLS: session tickets on by default). */
export function ballastTlsConfig(port: number, backendPort: number, tls: Certificate) {
  return JSON.stringify({
    log: { level: "warn" },
    listeners: [
      {
        name: "bench",
        protocol: "http",
        bind: `127.0.0.1:${port}`,
        default_pool: "backend",
        access_log: false,
        upstream_keepalive: UPSTREAM_KEEPALIVE,
        tls: { cert: tls.cert, key: tls.key },
      },
    ],
    pools: { backend: { algorithm: "rr", backends: [{ address: `127.0.0.1:${backendPort}` }] } },
  });
}
