#!/usr/bin/env bash
# TCP benchmark: ballast's tcp listener vs HAProxy `mode tcp` vs nginx `stream` over the
# same redis-server and nginx backends. See bench/tcp/run.ts for what is measured.
set -euo pipefail
cd "$(dirname "$0")/.."
# tsc emits even when some other file has a type error; the benchmark runs what was emitted.
npx tsc -p . >/dev/null || echo "bench/tcp: tsc reported type errors; running the emitted code" >&2
exec node dist/bench/tcp/run.js
