/** Config files the HTTP benchmark generates for the backend and each proxy under test. */

/** Upstream keep-alive connections every proxy may keep to the backend. */
export const UPSTREAM_KEEPALIVE = 64;

/** The fixed answer of the benchmark backend (small, so the proxies dominate the cost). */
export const BACKEND_BODY = "hello from the benchmark backend\n";

const asRoot = process.getuid?.() === 0;

/**
 * Client connections each proxy may hold (HAProxy `maxconn`; nginx gets twice as many
 * `worker_connections`, which count both sides). HAProxy refuses to start when it cannot
 * get two descriptors per connection, so this stays below half of a common hard limit of
 * 20,000 open files, and above the memory benchmark's idle connections.
 */
export const MAX_CONNECTIONS = 9_900;

/** Open files nginx asks for (`worker_rlimit_nofile`): both sides of every connection. */
export const NGINX_OPEN_FILES = 2 * MAX_CONNECTIONS + 100;

/** Lines every nginx config here starts with: one worker, files inside `dir`. */
export function nginxPreamble(dir: string, name: string): string {
  return `${asRoot ? "user root;\n" : ""}worker_processes 1;
worker_rlimit_nofile ${NGINX_OPEN_FILES};
pid ${dir}/${name}.pid;
error_log ${dir}/${name}-error.log warn;
events { worker_connections ${2 * MAX_CONNECTIONS}; }
`;
}

/** Temp paths inside `dir`, so nginx never touches the system's directories. */
export function nginxTempPaths(dir: string, name: string): string {
  return ["client_body", "proxy", "fastcgi", "uwsgi", "scgi"]
    .map((kind) => `  ${kind}_temp_path ${dir}/${name}-${kind};`)
    .join("\n");
}

/** nginx as the backend: answers every request with a fixed body. */
export function nginxBackendConfig(dir: string, port: number): string {
  return `${nginxPreamble(dir, "backend")}http {
  access_log off;
${nginxTempPaths(dir, "backend")}
  keepalive_requests 1000000;
  server {
    listen 127.0.0.1:${port};
    location / { default_type text/plain; return 200 "${BACKEND_BODY.trimEnd()}\\n"; }
  }
}
`;
}

/** nginx as a reverse proxy with upstream keep-alive. */
export function nginxProxyConfig(dir: string, port: number, backendPort: number): string {
  return `${nginxPreamble(dir, "nginx-proxy")}http {
  access_log off;
${nginxTempPaths(dir, "nginx-proxy")}
  keepalive_requests 1000000;
  upstream backend {
    server 127.0.0.1:${backendPort};
    keepalive ${UPSTREAM_KEEPALIVE};
    keepalive_requests 1000000;
  }
  server {
    listen 127.0.0.1:${port};
    location / {
      proxy_pass http://backend;
      proxy_http_version 1.1;
      proxy_set_header Connection "";
    }
  }
}
`;
}

/**
 * HAProxy in http mode, one thread, connection reuse to the backend; `bindOptions` are
 * added to the bind line (e.g. `ssl crt FILE` to terminate TLS).
 */
export function haproxyConfig(port: number, backendPort: number, bindOptions = ""): string {
  return `global
  nbthread 1
  maxconn ${MAX_CONNECTIONS}
defaults
  mode http
  option http-keep-alive
  http-reuse always
  timeout connect 5s
  timeout client 30s
  timeout server 30s
frontend bench
  bind 127.0.0.1:${port}${bindOptions === "" ? "" : ` ${bindOptions}`}
  default_backend backend
backend backend
  server b1 127.0.0.1:${backendPort}
`;
}

/**
 * ballast with one HTTP listener in front of the backend; access log off like the others.
 * `workers` above 1 runs that many worker processes (the scaling curve, BENCH_WORKERS).
 */
export function ballastConfig(port: number, backendPort: number, workers = 1): string {
  return JSON.stringify(
    {
      log: { level: "warn" },
      ...(workers > 1 ? { workers } : {}),
      listeners: [
        {
          name: "bench",
          protocol: "http",
          bind: `127.0.0.1:${port}`,
          default_pool: "backend",
          access_log: false,
          upstream_keepalive: UPSTREAM_KEEPALIVE,
        },
      ],
      pools: {
        backend: { algorithm: "rr", backends: [{ address: `127.0.0.1:${backendPort}` }] },
      },
    },
    null,
    2,
  );
}
