#!/usr/bin/env bash
# TLS benchmark: ballast, nginx and HAProxy terminating TLS with one ECDSA P-256 certificate:
# keep-alive requests, new and resumed handshakes per CPU-second. See bench/tls/run.ts.
set -euo pipefail
cd "$(dirname "$0")/.."
# HAProxy and nginx raise their own descriptor limits up to the hard limit: lift it where allowed.
ulimit -n 100000 2>/dev/null || true
npx tsc -p . >/dev/null || echo "bench/tls: tsc reported type errors; running the emitted code" >&2
exec node dist/bench/tls/run.js
