#!/usr/bin/env node
/** The `ballast` command: a small dispatcher, one file per subcommand. */
import cluster from "node:cluster";
import { suggest } from "../config/describe-issues.js";
import { UsageError } from "./args.js";
import { runCheck } from "./check.js";
import { runCtl } from "./ctl.js";
import { runDemo } from "./demo.js";
import { runHa } from "./ha.js";
import { helpText, runHelp } from "./help.js";
import { runSimulate } from "./simulate.js";
import { runStart } from "./start.js";
import { runVersion } from "./version.js";

type Command = (args: readonly string[]) => number | Promise<number>;

const commands: Record<string, Command> = {
  start: runStart,
  check: runCheck,
  demo: runDemo,
  ctl: (args) => runCtl([...args]),
  simulate: runSimulate,
  ha: runHa,
  version: runVersion,
  "--version": runVersion,
  help: runHelp,
  "--help": runHelp,
  "-h": runHelp,
};

/** Runs one `ballast` invocation; resolves with the exit status. */
export async function main(argv: readonly string[]): Promise<number> {
  const [name, ...args] = argv;
  if (name === undefined) {
    console.error(helpText());
    return 2;
  }
  // Own keys only: "constructor" or "toString" would be found on the prototype.
  const command = Object.hasOwn(commands, name) ? commands[name] : undefined;
  if (command === undefined) {
    const hint = suggest(
      name,
      Object.keys(commands).filter((c) => !c.startsWith("-")),
    );
    const guess = hint === undefined ? "" : `did you mean "${hint}"? `;
    console.error(`ballast: unknown command "${name}"; ${guess}run "ballast help" for the list`);
    return 2;
  }
  try {
    return await command(args);
  } catch (error) {
    if (error instanceof UsageError) {
      console.error(`ballast ${name}: ${error.message}`);
      return 2;
    }
    console.error(`ballast ${name}: ${(error as Error).stack ?? error}`);
    return 1;
  }
}

// `kill -HUP $(pidof ballast)` and ps find the process by this name rather than "node".
// Workers get their own name, so that signal reaches the primary, which passes it on once.
process.title = cluster.isWorker ? "ballast-worker" : "ballast";
const status = await main(process.argv.slice(2));
// Long-running commands have stopped everything they started; exit without waiting for
// stray handles (pino's async destination flushed before returning).
process.exit(status);
