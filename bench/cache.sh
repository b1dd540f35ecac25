#!/usr/bin/env bash
# Cache benchmark: wrk against cached small and 100 KB responses and the miss path, through
# ballast, nginx proxy_cache and Varnish. See bench/cache/run.ts for the environment knobs.
set -euo pipefail
cd "$(dirname "$0")/.."
npx tsc -p . >/dev/null || echo "bench/cache: tsc reported type errors; running the emitted code" >&2
exec node dist/bench/cache/run.js
