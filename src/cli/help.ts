/** `ballast help`: the subcommands and the algorithms, with descriptions from the registry. */
import { algorithms } from "../balancer/index.js";

const commands: [string, string][] = [
  ["start --config FILE", "run the balancer with this config (SIGTERM/SIGINT stop gracefully)"],
  [
    "check --config FILE",
    "validate a config: exit 0 with a summary, or print every error and exit 1",
  ],
  [
    "demo [--port 8080] [--admin-port 9090]",
    "three demo backends and a balancer in front of them, with an admin API on loopback and a generated token; prints what to curl and how to use ctl and the dashboard",
  ],
  ["ctl ...", "talk to a running balancer's admin API (pools, backends, drain, reload)"],
  [
    "simulate [--algorithms all]",
    "compare algorithms on a simulated workload (virtual clock); --help for options",
  ],
  [
    "ha keepalived-config --config FILE",
    "print the keepalived.conf that holds this director's VIPs by VRRP (the config's ha: section)",
  ],
  [
    "ha conntrackd-config --config FILE",
    "print the conntrackd.conf that replicates connection state to the peer director (ha.sync)",
  ],
  ["version", "print the version"],
  ["help", "print this help"],
];

/** The help text. */
export function helpText(): string {
  const width = Math.max(...commands.map(([usage]) => usage.length));
  const lines = ["usage: ballast <command> [options]", "", "commands:"];
  for (const [usage, what] of commands) lines.push(`  ${usage.padEnd(width)}  ${what}`);
  lines.push("", "algorithms (a pool's `algorithm:`):");
  const infos = Object.values(algorithms);
  const nameWidth = Math.max(...infos.map((info) => info.name.length));
  for (const info of infos) lines.push(`  ${info.name.padEnd(nameWidth)}  ${info.description}`);
  lines.push("", "Config reference: docs/config.md; examples: examples/*.yaml");
  return lines.join("\n");
}

/** Prints the help; exit status 0. */
export function runHelp(): number {
  console.log(helpText());
  return 0;
}
