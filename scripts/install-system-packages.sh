#!/usr/bin/env bash
# Installs the Debian packages that tests, benchmarks and examples use (the programs the tests
# need, and their packages, are listed in scripts/system-programs.mjs). The packages' own
# services are stopped again: tests start their own instances on loopback ports.
set -euo pipefail
packages=(
  nginx-light libnginx-mod-stream haproxy redis-server redis-tools postgresql postgresql-contrib
  dnsmasq-base dnsutils wrk iputils-ping iproute2 nftables procps openssl util-linux coreutils
  prometheus # promtool: the test suite lints /metrics with `promtool check metrics`
  mariadb-server mariadb-client sysbench # database balancing: a replicated MariaDB under sysbench
  conntrack # the kernel data plane: ActiveConn/InActConn of `ctl list` from conntrack
  keepalived conntrackd dash # the director's failover: VIPs by VRRP, connection-state sync
  mmdb-bin # mmdblookup: the dns tests check the MaxMind DB files they write with MaxMind's own reader
  chromium # headless browser tests: the dashboard, and the admin API against cross-site pages
  etcd-server # the registry shared by several nodes: a 3-member cluster on loopback
)
missing=()
for package in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$package" 2>/dev/null | grep -q "install ok installed" || missing+=("$package")
done
if [ "${#missing[@]}" -gt 0 ]; then
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq
  apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi
# Debian starts some of these at install time; the tests want their ports free.
# (prometheus would listen on 9090, the admin API's default port.)
for service in nginx haproxy redis-server postgresql prometheus mariadb keepalived conntrackd etcd; do
  service "$service" stop >/dev/null 2>&1 || true
done
