// The programs the tests start or run, each with the Debian package that brings it.
// scripts/install-system-packages.sh installs every one of these packages (a test checks),
// the test command's preflight (scripts/check-system-programs.mjs) checks them before
// anything runs, and the tests find them through test/support/programs.ts.
import { accessSync, constants, existsSync, readdirSync } from "node:fs";
import { delimiter, join } from "node:path";

/** Program name → Debian package. */
export const PROGRAMS = {
  nginx: "nginx-light",
  "redis-server": "redis-server",
  "redis-cli": "redis-tools",
  "redis-benchmark": "redis-tools",
  initdb: "postgresql",
  postgres: "postgresql",
  pg_isready: "postgresql",
  psql: "postgresql",
  pgbench: "postgresql",
  dnsmasq: "dnsmasq-base",
  dig: "dnsutils",
  mmdblookup: "mmdb-bin", // checks the MaxMind DB files the dns tests write
  wrk: "wrk",
  promtool: "prometheus",
  chromium: "chromium",
  openssl: "openssl",
  ping: "iputils-ping",
  pgrep: "procps",
  pidof: "procps", // Debian 12 has it in an essential package; from Debian 13 on, in procps
  runuser: "util-linux",
  chown: "coreutils",
  mkfifo: "coreutils",
  mariadb: "mariadb-client",
  mariadbd: "mariadb-server",
  "mariadb-install-db": "mariadb-server",
  sysbench: "sysbench",
  ip: "iproute2", // network namespaces, veth pairs and bridges of the kernel tests
  ss: "iproute2",
  bridge: "iproute2", // the forwarding entries of the kernel TUN tests' VXLAN device
  sysctl: "procps",
  nft: "nftables",
  conntrack: "conntrack",
  keepalived: "keepalived", // the director's failover by VRRP (docs/kernel-ha.md)
  conntrackd: "conntrackd",
  sh: "dash", // runs keepalived's track script line as keepalived would
  etcd: "etcd-server",
};

/** Server programs Debian keeps out of PATH, in /usr/lib/postgresql/<version>/bin. */
const POSTGRES_LIB = "/usr/lib/postgresql";
const POSTGRES_PROGRAMS = new Set(["initdb", "postgres", "pg_isready", "psql", "pgbench"]);

/**
 * Where programs are looked for: PATH, then the sbin folders (nginx, dnsmasq and runuser live
 * there, and a normal user's PATH often lacks them).
 */
function searchDirs(env) {
  const dirs = (env.PATH ?? "").split(delimiter).filter((dir) => dir !== "");
  for (const dir of ["/usr/local/sbin", "/usr/sbin", "/sbin"]) {
    if (!dirs.includes(dir)) dirs.push(dir);
  }
  return dirs;
}

/** The newest PostgreSQL's bin folder, or undefined when none is installed. */
function postgresBin() {
  let versions;
  try {
    versions = readdirSync(POSTGRES_LIB).filter((name) => /^\d+$/.test(name));
  } catch {
    return undefined;
  }
  versions.sort((a, b) => Number(b) - Number(a));
  return versions.length === 0 ? undefined : join(POSTGRES_LIB, versions[0], "bin");
}

function isExecutable(path) {
  try {
    accessSync(path, constants.X_OK);
    return true;
  } catch {
    return false;
  }
}

/** Names listed in BALLAST_PRETEND_MISSING (comma-separated): treated as not installed. */
function pretendMissing(env) {
  return new Set(
    (env.BALLAST_PRETEND_MISSING ?? "")
      .split(",")
      .map((name) => name.trim())
      .filter((name) => name !== ""),
  );
}

/** The absolute path of `program`, or undefined when it is not installed. */
export function findProgram(program, env = process.env) {
  if (pretendMissing(env).has(program)) return undefined;
  const dirs = searchDirs(env);
  if (POSTGRES_PROGRAMS.has(program)) {
    // The version's own folder first: PATH's pg_wrapper entries need a cluster to exist.
    const bin = postgresBin();
    if (bin !== undefined) dirs.unshift(bin);
  }
  for (const dir of dirs) {
    const path = join(dir, program);
    if (isExecutable(path)) return path;
  }
  return undefined;
}

/** The programs of PROGRAMS that are not installed. */
export function missingPrograms(env = process.env) {
  return Object.keys(PROGRAMS).filter((program) => findProgram(program, env) === undefined);
}

/** The Debian packages that bring `programs`, each once. */
export function packagesOf(programs) {
  return [...new Set(programs.map((program) => PROGRAMS[program] ?? program))];
}

/** The command that installs every package the tests use. */
export function installCommand() {
  const script = "bash scripts/install-system-packages.sh";
  const command = process.getuid?.() === 0 ? script : `sudo ${script}`;
  return existsSync("/etc/debian_version")
    ? command
    : `${command} (it uses apt-get; elsewhere, install the same programs by hand)`;
}

/** One line naming the missing programs, their packages, and the command that installs them. */
export function missingLine(programs) {
  const named = programs.map((program) => `${program} (${PROGRAMS[program] ?? "?"})`);
  return `the tests need programs that are not installed: ${named.join(", ")}; install them with: ${installCommand()}`;
}
