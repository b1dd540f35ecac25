/** The compiled `ballast` command, run by the tests as a user would run it. */
import { execFile } from "node:child_process";
import { fileURLToPath } from "node:url";

/** The CLI's entry point (dist/src/cli/main.js once compiled). */
export const BALLAST_CLI = fileURLToPath(new URL("../../src/cli/main.js", import.meta.url));

/** What a finished CLI run printed, and its exit code (-1 when it was killed). */
export interface CliResult {
  code: number;
  stdout: string;
  stderr: string;
}

/**
 * Runs `ballast ctl ...args` to its end (at most 20 s). BALLAST_ADMIN and BALLAST_ADMIN_TOKEN
 * from the test's own environment are cleared, so only `args` and `env` reach it.
 */
export function ballastCtl(args: string[], env: Record<string, string> = {}): Promise<CliResult> {
  return new Promise((done) => {
    execFile(
      process.execPath,
      [BALLAST_CLI, "ctl", ...args],
      {
        env: { ...process.env, BALLAST_ADMIN: "", BALLAST_ADMIN_TOKEN: "", ...env },
        timeout: 20_000,
      },
      (error, stdout, stderr) => {
        const code = error ? (typeof error.code === "number" ? error.code : -1) : 0;
        done({ code, stdout, stderr });
      },
    );
  });
}
