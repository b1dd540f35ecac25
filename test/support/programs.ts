/**
 * The external programs the tests start (nginx, redis-server, PostgreSQL, ...), found through
 * the one table in scripts/system-programs.mjs, so a missing one fails its test with a clear
 * message instead of a spawn ENOENT.
 */
import assert from "node:assert/strict";

interface SystemPrograms {
  PROGRAMS: Record<string, string>;
  findProgram(program: string, env?: NodeJS.ProcessEnv): string | undefined;
  missingLine(programs: string[]): string;
}

// Compiled to dist/test/support/, three levels below the repository's root.
const table: SystemPrograms = await import(
  new URL("../../../scripts/system-programs.mjs", import.meta.url).href
);

/** The Debian package of each program the tests use. */
export const PROGRAM_PACKAGES: Readonly<Record<string, string>> = table.PROGRAMS;

/** The absolute path of `program`, or undefined when it is not installed. */
export function findProgram(program: string): string | undefined {
  return table.findProgram(program);
}

/**
 * The absolute path of `program`; fails the calling test, naming the program and the command
 * that installs it, when it is not installed.
 */
export function requireProgram(program: string): string {
  assert.ok(program in PROGRAM_PACKAGES, `${program} is not in scripts/system-programs.mjs`);
  const path = table.findProgram(program);
  assert.ok(path !== undefined, table.missingLine([program]));
  return path;
}
