/** Shared pieces of the dns tests: a running runtime from YAML, and `dig` as the client. */
import { execFile } from "node:child_process";
import { parseConfigText } from "../../src/config/load.js";
import { Runtime } from "../../src/runtime/runtime.js";
import { requireProgram } from "../support/programs.js";

/** Starts a runtime from YAML text; the caller stops it. */
export async function startRuntime(yaml: string): Promise<Runtime> {
  const runtime = new Runtime(parseConfigText(yaml, "test.yaml"));
  await runtime.start();
  return runtime;
}

/** The port the named listener got. */
export function portOf(runtime: Runtime, listener = "dns"): number {
  return runtime.listeners.get(listener)!.address().port;
}

/** What `dig` printed, parsed into the parts tests look at. */
export interface DigResult {
  status: string;
  flags: string[];
  answers: string[][];
  authorities: string[][];
  text: string;
}

/** Runs `dig` against 127.0.0.1:`port` with extra arguments; parses its answer. */
export function dig(port: number, args: string[]): Promise<DigResult> {
  return new Promise((resolve, reject) => {
    execFile(
      requireProgram("dig"),
      ["@127.0.0.1", "-p", String(port), "+tries=1", "+time=2", "+nocookie", ...args],
      { timeout: 10_000 },
      (error, stdout) => {
        if (error && stdout === "") return reject(error);
        resolve(parseDig(stdout));
      },
    );
  });
}

/** Parses dig's default output: the header's status and flags, and the record sections. */
export function parseDig(text: string): DigResult {
  const status = /status: (\w+)/.exec(text)?.[1] ?? "NONE";
  const flags = (/;; flags: ([^;]*);/.exec(text)?.[1] ?? "").trim().split(/\s+/).filter(Boolean);
  const section = (name: string) => {
    const start = text.indexOf(`;; ${name} SECTION:`);
    if (start < 0) return [];
    const rows: string[][] = [];
    for (const line of text.slice(start).split("\n").slice(1)) {
      if (line.trim() === "" || line.startsWith(";;")) break;
      rows.push(line.trim().split(/\s+/));
    }
    return rows;
  };
  return { status, flags, answers: section("ANSWER"), authorities: section("AUTHORITY"), text };
}
