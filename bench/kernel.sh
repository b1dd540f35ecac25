#!/usr/bin/env bash
# Kernel data plane benchmark (root: it makes network namespaces): kernel NAT, DR and TUN against
# ballast's user-space tcp listener and direct, in one run. See bench/kernel/run.ts.
set -euo pipefail
cd "$(dirname "$0")/.."
# tsc emits even when some other file has a type error; the benchmark runs what was emitted.
npx tsc -p . >/dev/null || echo "bench/kernel: tsc reported type errors; running the emitted code" >&2
exec node dist/bench/kernel/run.js
