#!/usr/bin/env bash
# HTTP benchmark: wrk against the backend, ballast, nginx, HAProxy, http-proxy and
# @fastify/http-proxy on loopback. See bench/http/run.ts for the environment knobs.
set -euo pipefail
cd "$(dirname "$0")/.."
# tsc emits even when some other file has a type error; the benchmark runs what was emitted.
npx tsc -p . >/dev/null || echo "bench/http: tsc reported type errors; running the emitted code" >&2
exec node dist/bench/http/run.js
