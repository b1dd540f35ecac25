#!/usr/bin/env bash
# Memory benchmark: ballast, nginx and HAProxy idle and with thousands of idle connections,
# as HTTP keep-alive and as TCP proxies. See bench/memory/run.ts.
set -euo pipefail
cd "$(dirname "$0")/.."
# HAProxy and nginx raise their own descriptor limits up to the hard limit: lift it where allowed.
ulimit -n 100000 2>/dev/null || true
npx tsc -p . >/dev/null || echo "bench/memory: tsc reported type errors; running the emitted code" >&2
exec node dist/bench/memory/run.js
