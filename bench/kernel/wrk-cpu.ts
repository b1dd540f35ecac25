/**
 * Runs wrk (argv[2..]) to completion and then prints, after wrk's own output, the CPU time wrk
 * used as one line `cpu-ms <n>`: this process's reaped-children times from /proc/self/stat,
 * which Node cannot report for a child itself. The kernel bench runs it in the client namespace,
 * so each path's figure comes with what the client spent on it.
 */
import { spawnSync } from "node:child_process";
import { REAPED_CHILDREN, statCpuMs } from "./proc-stat.js";

const [program, ...args] = process.argv.slice(2);
if (program === undefined) throw new Error("usage: wrk-cpu.js <wrk> <args...>");
const result = spawnSync(program, args, { encoding: "utf8", timeout: 120_000 });
process.stdout.write(result.stdout ?? "");
process.stderr.write(result.stderr ?? "");
// The children this process has waited for: wrk.
process.stdout.write(`cpu-ms ${statCpuMs("self", REAPED_CHILDREN)}\n`);
process.exitCode = result.status ?? 1;
