/**
 * Runs wrk (argv[2..]) to completion and then prints, after wrk's own output, the CPU time wrk
 * used as one line `cpu-ms <n>`: this process's reaped-children times from /proc/self/stat,
 * which Node cannot report for a child itself. The kernel bench runs it in the client namespace,
 * so each path's figure comes with what the client spent on it.
 */
import { spawnSync } from "node:child_process";
import { readFileSync } from "node:fs";

/** Clock ticks per second of /proc/<pid>/stat (USER_HZ, 100 on Linux). */
const TICKS_PER_SECOND = 100;

const [program, ...args] = process.argv.slice(2);
if (program === undefined) throw new Error("usage: wrk-cpu.js <wrk> <args...>");
const result = spawnSync(program, args, { encoding: "utf8", timeout: 120_000 });
process.stdout.write(result.stdout ?? "");
process.stderr.write(result.stderr ?? "");
// Fields 16 and 17 (cutime, cstime) count the children this process has waited for: wrk.
const fields = readFileSync("/proc/self/stat", "utf8").split(") ")[1].split(" ");
const ticks = Number(fields[13]) + Number(fields[14]);
process.stdout.write(`cpu-ms ${(ticks * 1000) / TICKS_PER_SECOND}\n`);
process.exitCode = result.status ?? 1;
