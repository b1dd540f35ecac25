#!/usr/bin/env bash
# DNS benchmark: dnsperf against ballast's dns listener, PowerDNS authoritative (bind backend,
# a Lua `ifportup` record: the functional peer, in `enable-lua-records=shared` mode and in its
# default per-query mode) and NSD (a static zone: the limit), in one run.
#
# Each server runs alone, pinned to one core (single thread where it has the choice), with
# dnsperf on the other core. The figure that ranks servers is queries answered per second of
# the server's own CPU (user + system, every process of the server), since one dnsperf may
# saturate before a fast server does.
#
# Needs (Debian): dnsperf pdns-server pdns-backend-bind nsd python3, installed by hand:
#   apt-get install dnsperf pdns-server pdns-backend-bind nsd
# They are not part of `npm test`. Settings: DURATION (s, default 10), CLIENTS (dnsperf -c),
# OUTSTANDING (dnsperf -q), SERVER_CPU / CLIENT_CPU (cores for taskset).
set -euo pipefail
cd "$(dirname "$0")/.."

DURATION=${DURATION:-10}
CLIENTS=${CLIENTS:-4}
OUTSTANDING=${OUTSTANDING:-200}
SERVER_CPU=${SERVER_CPU:-1}
CLIENT_CPU=${CLIENT_CPU:-0}
for tool in dnsperf pdns_server nsd taskset python3; do
  command -v "$tool" >/dev/null || { echo "bench/dns: $tool not found (see the top of bench/dns.sh)" >&2; exit 2; }
done

npx tsc -p . >/dev/null || echo "bench/dns: tsc reported type errors; running the emitted code" >&2

work=$(mktemp -d)
pids=()
cleanup() {
  for pid in "${pids[@]}"; do kill "$pid" 2>/dev/null || true; done
  wait 2>/dev/null || true
  rm -rf "$work"
}
trap cleanup EXIT

free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }
BACKEND_PORT=$(free_port)

# Two "backends" that accept TCP, so health checks and ifportup see them up.
for host in 127.0.0.2 127.0.0.3; do
  python3 -m http.server --bind "$host" "$BACKEND_PORT" >/dev/null 2>&1 &
  pids+=($!)
done

# CPU seconds (user + system) of a process and all its descendants.
cpu_seconds() {
  local tree="$1" all="$1" next
  while :; do
    next=$(for p in $tree; do pgrep -P "$p" || true; done | tr '\n' ' ')
    [ -z "${next// /}" ] && break
    all="$all $next"; tree="$next"
  done
  local ticks=0
  for p in $all; do
    [ -r "/proc/$p/stat" ] || continue
    # Fields 14 and 15 (utime, stime), counted after the ")" closing the command name.
    ticks=$((ticks + $(sed 's/.*) //' "/proc/$p/stat" | awk '{print $12 + $13}')))
  done
  python3 -c "print($ticks / $(getconf CLK_TCK))"
}

wait_for_dns() {
  local port=$1
  for _ in $(seq 1 100); do
    dig @127.0.0.1 -p "$port" +tries=1 +time=1 +short static.example.test A >/dev/null 2>&1 && return 0
    sleep 0.1
  done
  echo "bench/dns: server on port $port did not answer" >&2
  return 1
}

# run_one LABEL PID PORT QUERYFILE: prints one table row.
run_one() {
  local label=$1 pid=$2 port=$3 queries=$4
  wait_for_dns "$port"
  # Two unmeasured seconds first: JIT warm-up for ballast, caches for everyone.
  taskset -c "$CLIENT_CPU" dnsperf -s 127.0.0.1 -p "$port" -d "$queries" -l 2 -c "$CLIENTS" \
    -q "$OUTSTANDING" -T 1 >/dev/null 2>&1 || true
  local before after out completed qps cpu
  before=$(cpu_seconds "$pid")
  out=$(taskset -c "$CLIENT_CPU" dnsperf -s 127.0.0.1 -p "$port" -d "$queries" -l "$DURATION" \
    -c "$CLIENTS" -q "$OUTSTANDING" -T 1 2>&1)
  after=$(cpu_seconds "$pid")
  completed=$(echo "$out" | awk '/Queries completed:/ {print $3}')
  qps=$(echo "$out" | awk '/Queries per second:/ {print $4}')
  lost=$(echo "$out" | awk '/Queries lost:/ {print $3}')
  cpu=$(python3 -c "print(round($after - $before, 2))")
  python3 - "$label" "$completed" "$qps" "$cpu" "$lost" <<'PY'
import sys
label, completed, qps, cpu, lost = sys.argv[1], int(sys.argv[2]), float(sys.argv[3]), float(sys.argv[4]), sys.argv[5]
per_cpu = completed / cpu if cpu > 0 else 0
print(f"| {label} | {qps:,.0f} | {cpu:.2f} | {per_cpu:,.0f} | {lost} |")
PY
  echo "$label $completed $cpu" >>"$work/results"
}

printf 'www.example.test A\n' >"$work/pool.queries"
printf 'static.example.test A\n' >"$work/static.queries"

echo "DNS benchmark: ${DURATION}s per run, dnsperf -c $CLIENTS -q $OUTSTANDING on core $CLIENT_CPU, server on core $SERVER_CPU"
echo
echo "| server | queries/s | server CPU s | queries per CPU-second | lost |"
echo "|---|---:|---:|---:|---:|"

# --- ballast -------------------------------------------------------------------------
BALLAST_PORT=$(free_port)
cat >"$work/ballast.yaml" <<EOF
listeners:
  - name: dns
    protocol: dns
    bind: "127.0.0.1:$BALLAST_PORT"
    zones:
      - origin: example.test
        ns: [ns1.example.test]
        records:
          - { name: ns1, type: A, values: ["127.0.0.1"] }
          - { name: static, type: A, values: ["192.0.2.1"] }
          - { name: www, type: A, pool: web, ttl: 5 }
pools:
  web:
    algorithm: rr
    health_check: { type: tcp, interval: 1s }
    backends: [{ address: "127.0.0.2:$BACKEND_PORT" }, { address: "127.0.0.3:$BACKEND_PORT" }]
log: { level: warn }
EOF
taskset -c "$SERVER_CPU" node dist/src/cli/main.js start --config "$work/ballast.yaml" >"$work/ballast.log" 2>&1 &
BALLAST_PID=$!
pids+=("$BALLAST_PID")
run_one "ballast, pool-backed A (rr, health-checked)" "$BALLAST_PID" "$BALLAST_PORT" "$work/pool.queries"
run_one "ballast, static A" "$BALLAST_PID" "$BALLAST_PORT" "$work/static.queries"
kill "$BALLAST_PID"

# --- PowerDNS ------------------------------------------------------------------------
cat >"$work/example.test.zone" <<EOF
\$ORIGIN example.test.
@ 300 IN SOA ns1.example.test. hostmaster.example.test. 1 3600 600 604800 60
@ 300 IN NS ns1.example.test.
ns1 300 IN A 127.0.0.1
static 300 IN A 192.0.2.1
www 5 IN LUA A "ifportup($BACKEND_PORT, {'127.0.0.2', '127.0.0.3'})"
EOF
printf 'zone "example.test" { type master; file "%s/example.test.zone"; };\n' "$work" >"$work/named.conf"
pdns() {
  local mode=$1 port=$2
  mkdir -p "$work/pdns-$mode"
  # The packet and query caches are off: every query is answered, as ballast answers it.
  taskset -c "$SERVER_CPU" pdns_server --no-config --daemon=no --guardian=no --disable-syslog \
    --write-pid=no --socket-dir="$work/pdns-$mode" --local-address=127.0.0.1 --local-port="$port" \
    --launch=bind --bind-config="$work/named.conf" --enable-lua-records="$mode" \
    --receiver-threads=1 --distributor-threads=1 --reuseport=no \
    --cache-ttl=0 --query-cache-ttl=0 --negquery-cache-ttl=0 --zone-cache-refresh-interval=0 \
    --loglevel=3 >"$work/pdns-$mode.log" 2>&1 &
  echo $!
}
PDNS_PORT=$(free_port)
PDNS_PID=$(pdns shared "$PDNS_PORT")
pids+=("$PDNS_PID")
sleep 1
run_one "PowerDNS 4, Lua ifportup, lua-records=shared" "$PDNS_PID" "$PDNS_PORT" "$work/pool.queries"
run_one "PowerDNS 4, static A" "$PDNS_PID" "$PDNS_PORT" "$work/static.queries"
kill "$PDNS_PID"
PDNS_PORT=$(free_port)
PDNS_PID=$(pdns yes "$PDNS_PORT")
pids+=("$PDNS_PID")
sleep 1
run_one "PowerDNS 4, Lua ifportup, default per-query Lua" "$PDNS_PID" "$PDNS_PORT" "$work/pool.queries"
kill "$PDNS_PID"

# --- NSD -----------------------------------------------------------------------------
NSD_PORT=$(free_port)
cat >"$work/nsd.zone" <<EOF
\$ORIGIN example.test.
@ 300 IN SOA ns1.example.test. hostmaster.example.test. 1 3600 600 604800 60
@ 300 IN NS ns1.example.test.
ns1 300 IN A 127.0.0.1
static 300 IN A 192.0.2.1
www 5 IN A 127.0.0.2
www 5 IN A 127.0.0.3
EOF
cat >"$work/nsd.conf" <<EOF
server:
  ip-address: 127.0.0.1@$NSD_PORT
  server-count: 1
  username: ""
  zonesdir: "$work"
  database: ""
  zonelistfile: "$work/nsd.zonelist"
  xfrdfile: "$work/nsd.xfrd"
  pidfile: "$work/nsd.pid"
  logfile: "$work/nsd.log"
  verbosity: 0
  rrl-ratelimit: 0
remote-control:
  control-enable: no
zone:
  name: example.test
  zonefile: nsd.zone
EOF
taskset -c "$SERVER_CPU" nsd -d -c "$work/nsd.conf" >"$work/nsd.out" 2>&1 &
NSD_PID=$!
pids+=("$NSD_PID")
run_one "NSD 4, static A x2 (the limit)" "$NSD_PID" "$NSD_PORT" "$work/pool.queries"
kill "$NSD_PID"

echo
python3 - "$work/results" <<'PY'
import sys
rows = {}
for line in open(sys.argv[1]):
    *label, completed, cpu = line.split()
    rows[" ".join(label)] = int(completed) / float(cpu) if float(cpu) > 0 else 0
ballast = rows.get("ballast, pool-backed A (rr, health-checked)", 0)
for name, value in rows.items():
    if value and not name.startswith("ballast, pool"):
        print(f"ballast pool-backed / {name}: {ballast / value:.2f}x per CPU-second")
PY
