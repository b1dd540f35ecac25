/** A small flag parser for the `ballast` subcommands: `--name value`, `--name=value`, `-n value`. */

/** A mistake in how the command was called; the CLI exits with status 2. */
export class UsageError extends Error {
  override name = "UsageError";
}

/** The flags a subcommand accepts: long name to short alias (or "" for none). */
export type FlagSpec = Record<string, { short?: string; boolean?: boolean }>;

/** Parsed flags by long name; positional arguments in `rest`. */
export interface ParsedArgs {
  flags: Record<string, string | true>;
  rest: string[];
}

/** Parses `args` against `spec`; throws UsageError for unknown flags or missing values. */
export function parseArgs(args: readonly string[], spec: FlagSpec): ParsedArgs {
  const flags: Record<string, string | true> = {};
  const rest: string[] = [];
  const byShort = new Map(
    Object.entries(spec)
      .filter(([, s]) => s.short !== undefined)
      .map(([name, s]) => [s.short as string, name]),
  );
  for (let i = 0; i < args.length; i++) {
    const arg = args[i];
    if (!arg.startsWith("-") || arg === "-") {
      rest.push(arg);
      continue;
    }
    const [head, inline] = arg.includes("=") ? splitOnce(arg, "=") : [arg, undefined];
    const name = head.startsWith("--") ? head.slice(2) : byShort.get(head.slice(1));
    if (name === undefined || spec[name] === undefined) {
      throw new UsageError(`unknown option ${head}; expected ${describeFlags(spec)}`);
    }
    if (spec[name].boolean) {
      flags[name] = true;
      continue;
    }
    const value = inline ?? args[++i];
    if (value === undefined || (inline === undefined && value.startsWith("-"))) {
      throw new UsageError(`option --${name} needs a value`);
    }
    flags[name] = value;
  }
  return { flags, rest };
}

/** The value of a flag that must be given. */
export function requireFlag(parsed: ParsedArgs, name: string, example: string): string {
  const value = parsed.flags[name];
  if (typeof value !== "string") throw new UsageError(`missing --${name}; for example ${example}`);
  return value;
}

function splitOnce(text: string, separator: string): [string, string] {
  const at = text.indexOf(separator);
  return [text.slice(0, at), text.slice(at + 1)];
}

function describeFlags(spec: FlagSpec): string {
  const names = Object.keys(spec).map((name) => `--${name}`);
  return names.length === 0 ? "no options" : names.join(", ");
}
