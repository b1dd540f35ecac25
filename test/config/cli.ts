/** Runs the real `ballast` CLI (the compiled bin) and temp config files for the config tests. */
import { spawnSync } from "node:child_process";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";

/** dist/src/cli/main.js, found from this compiled file (dist/test/config/cli.js). */
export const cliPath = fileURLToPath(new URL("../../src/cli/main.js", import.meta.url));

/** The repository's examples folder. */
export const examplesDir = fileURLToPath(new URL("../../../examples/", import.meta.url));

/** What a CLI run printed and how it ended. */
export interface CliResult {
  status: number | null;
  stdout: string;
  stderr: string;
}

/** Runs `ballast <args>` with an optional environment, bounded to 20 s. */
export function runCli(args: readonly string[], env: Record<string, string> = {}): CliResult {
  const result = spawnSync(process.execPath, [cliPath, ...args], {
    encoding: "utf8",
    timeout: 20_000,
    env: { PATH: process.env.PATH ?? "", ...env },
  });
  return { status: result.status, stdout: result.stdout, stderr: result.stderr };
}

/** A temp folder for config files; `cleanup` removes it. */
export function tempConfigDir(): { write(name: string, text: string): string; cleanup(): void } {
  const dir = mkdtempSync(join(tmpdir(), "ballast-config-"));
  return {
    write(name, text) {
      const path = join(dir, name);
      writeFileSync(path, text);
      return path;
    },
    cleanup: () => rmSync(dir, { recursive: true, force: true }),
  };
}

/** A valid config to start mistakes from; `pool` and `backends` are spliced in as text. */
export function configWith({
  listener = "",
  pool = "",
  backends = '      - { address: "127.0.0.1:3001" }',
}: {
  listener?: string;
  pool?: string;
  backends?: string;
} = {}): string {
  return `listeners:
  - name: web
    protocol: http
    bind: "127.0.0.1:8080"
    default_pool: api
${listener}
pools:
  api:
    algorithm: wrr
${pool}
    backends:
${backends}
`;
}
