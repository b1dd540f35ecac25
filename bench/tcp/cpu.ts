/** CPU time of a benchmarked proxy, read from /proc around one load run. */
import { readdirSync, readFileSync } from "node:fs";

/** Clock ticks per second of /proc/<pid>/stat (USER_HZ, 100 on Linux). */
const TICKS_PER_SECOND = 100;

/** User and system CPU seconds of a process and its children, so far. */
export interface CpuSeconds {
  user: number;
  system: number;
}

/**
 * CPU seconds of `pid` and every process below it (nginx's worker under its master), or
 * undefined where /proc is not there. Several threads of one process count in its own line.
 */
export function processTreeCpu(pid: number): CpuSeconds | undefined {
  const total: CpuSeconds = { user: 0, system: 0 };
  const seen = new Set<number>();
  const visit = (id: number): boolean => {
    if (seen.has(id)) return true;
    seen.add(id);
    let stat: string;
    try {
      stat = readFileSync(`/proc/${id}/stat`, "utf8");
    } catch {
      return false;
    }
    const fields = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
    total.user += Number(fields[11]) / TICKS_PER_SECOND;
    total.system += Number(fields[12]) / TICKS_PER_SECOND;
    for (const child of childrenOf(id)) visit(child);
    return true;
  };
  return visit(pid) ? total : undefined;
}

function childrenOf(pid: number): number[] {
  const children: number[] = [];
  try {
    for (const task of readdirSync(`/proc/${pid}/task`)) {
      const list = readFileSync(`/proc/${pid}/task/${task}/children`, "utf8").trim();
      if (list !== "") children.push(...list.split(" ").map(Number));
    }
  } catch {
    // exited meanwhile, or no children file on this kernel
  }
  return children;
}
