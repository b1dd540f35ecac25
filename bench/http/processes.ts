/** Child processes of the benchmark: pinned to a core, awaited until they answer, always stopped. */
import { type ChildProcess, spawn } from "node:child_process";
import { once } from "node:events";
import { accessSync, constants, readdirSync, readFileSync } from "node:fs";
import { request } from "node:http";
import { createServer } from "node:net";

export interface Started {
  name: string;
  child: ChildProcess;
  /** The last output lines, shown when the process fails to start. */
  output: string[];
}

const running = new Set<Started>();
const hasTaskset = isOnPath("taskset");
const niceness = process.env.BENCH_NICE;

/**
 * Starts `command` on CPU `core` (a number, or a taskset list such as "0,1") when taskset
 * exists, in its own process group.
 */
export function start(name: string, core: number | string | undefined, command: string[]): Started {
  let argv =
    core !== undefined && hasTaskset ? ["taskset", "-c", String(core), ...command] : command;
  // A raised priority keeps other work on a shared machine from skewing one target's figures.
  if (niceness !== undefined) argv = ["nice", "-n", niceness, ...argv];
  const child = spawn(argv[0], argv.slice(1), {
    detached: true,
    stdio: ["ignore", "pipe", "pipe"],
  });
  const started: Started = { name, child, output: [] };
  const keep = (chunk: Buffer) => {
    started.output.push(...chunk.toString().split("\n").filter(Boolean));
    if (started.output.length > 40) started.output.splice(0, started.output.length - 40);
  };
  child.stdout?.on("data", keep);
  child.stderr?.on("data", keep);
  running.add(started);
  child.once("exit", () => running.delete(started));
  return started;
}

/** Stops one process group: SIGTERM, then SIGKILL when it has not exited after `graceMs`. */
export async function stop(started: Started, graceMs = 3000): Promise<void> {
  const { child } = started;
  if (child.exitCode !== null || child.signalCode !== null) return;
  const exited = once(child, "exit");
  signalGroup(child, "SIGTERM");
  const timer = setTimeout(() => signalGroup(child, "SIGKILL"), graceMs);
  await exited;
  clearTimeout(timer);
}

/** Stops every process still running. */
export async function stopAll(): Promise<void> {
  await Promise.all([...running].map((started) => stop(started)));
}

/** Kills every process at once, for a synchronous exit path. */
export function killAllNow(): void {
  for (const started of running) signalGroup(started.child, "SIGKILL");
}

/** Resolves when GET / on `port` answers 200; rejects with the process's output otherwise. */
export async function waitUntilServing(started: Started, port: number, timeoutMs = 15_000) {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if (started.child.exitCode !== null) break;
    if ((await probe(port)) === 200) return;
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
  throw new Error(
    `${started.name} did not answer 200 on port ${port}:\n${started.output.join("\n")}`,
  );
}

/** An unused loopback port (asked of the kernel, then freed for the child to bind). */
export async function freePort(): Promise<number> {
  const server = createServer();
  server.listen(0, "127.0.0.1");
  await once(server, "listening");
  const { port } = server.address() as { port: number };
  server.close();
  await once(server, "close");
  return port;
}

/** Runs a command to its end and returns its stdout; rejects on a non-zero exit. */
export async function run(name: string, core: number | undefined, command: string[]) {
  const started = start(name, core, command);
  const [code] = (await once(started.child, "exit")) as [number | null];
  if (code !== 0) throw new Error(`${name} exited with ${code}:\n${started.output.join("\n")}`);
  return started.output.join("\n");
}

function probe(port: number): Promise<number | undefined> {
  return new Promise((resolve) => {
    const req = request({ host: "127.0.0.1", port, path: "/", agent: false }, (res) => {
      res.resume();
      res.on("end", () => resolve(res.statusCode));
    });
    req.setTimeout(1000, () => req.destroy());
    req.on("error", () => resolve(undefined));
    req.end();
  });
}

function signalGroup(child: ChildProcess, signal: NodeJS.Signals): void {
  if (child.pid === undefined) return;
  try {
    process.kill(-child.pid, signal);
  } catch {
    // Already gone.
  }
}

function isOnPath(command: string): boolean {
  return (process.env.PATH ?? "").split(":").some((dir) => {
    try {
      accessSync(`${dir}/${command}`, constants.X_OK);
      return true;
    } catch {
      return false;
    }
  });
}

/** Clock ticks per second of /proc's CPU times (USER_HZ, 100 on Linux). */
const TICKS_PER_SECOND = 100;

/** The numeric entries of /proc whose process group is `pgid`, with their stat fields. */
function groupProcesses(pgid: number): { pid: string; fields: string[] }[] | undefined {
  let entries: string[];
  try {
    entries = readdirSync("/proc");
  } catch {
    return undefined;
  }
  const members: { pid: string; fields: string[] }[] = [];
  for (const entry of entries) {
    if (entry.charCodeAt(0) < 0x30 || entry.charCodeAt(0) > 0x39) continue;
    let stat: string;
    try {
      stat = readFileSync(`/proc/${entry}/stat`, "utf8");
    } catch {
      continue; // exited meanwhile
    }
    // Fields after the command name (which may hold spaces) start at its closing ')'.
    const fields = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
    if (Number(fields[2]) === pgid) members.push({ pid: entry, fields });
  }
  return members;
}

/**
 * CPU seconds (user + system) used so far by every process in the group `pgid` (a started
 * process and the workers it forked), or undefined where /proc is not there.
 */
export function groupCpuSeconds(pgid: number): number | undefined {
  const members = groupProcesses(pgid);
  if (!members) return undefined;
  let ticks = 0;
  for (const { fields } of members) ticks += Number(fields[11]) + Number(fields[12]);
  return ticks / TICKS_PER_SECOND;
}

/**
 * Proportional resident memory (PSS, KiB) of every process in the group `pgid`, summed:
 * pages shared between processes (nginx's master and worker) are counted once in all.
 */
export function groupMemoryKilobytes(pgid: number): number | undefined {
  const members = groupProcesses(pgid);
  if (!members) return undefined;
  let kilobytes = 0;
  for (const { pid } of members) {
    try {
      const rollup = readFileSync(`/proc/${pid}/smaps_rollup`, "utf8");
      const match = /^Pss:\s+(\d+) kB$/m.exec(rollup);
      kilobytes += match ? Number(match[1]) : 0;
    } catch {
      // exited meanwhile
    }
  }
  return kilobytes;
}
