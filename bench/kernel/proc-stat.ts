/** CPU time from /proc/<pid>/stat, for the kernel bench's own accounting. */
import { readFileSync } from "node:fs";

/** Clock ticks per second of /proc/<pid>/stat (USER_HZ, 100 on Linux). */
const TICKS_PER_SECOND = 100;

/** Fields counted after the command name: utime, stime, cutime, cstime (reaped children). */
export const OWN_AND_CHILDREN = [11, 12, 13, 14];
/** cutime and cstime alone: the children this process has waited for. */
export const REAPED_CHILDREN = [13, 14];

/** The CPU ms in `fields` of `/proc/<pid>/stat` (pid "self" for this process). */
export function statCpuMs(pid: string, fields: readonly number[]): number {
  const values = readFileSync(`/proc/${pid}/stat`, "utf8").split(") ")[1].split(" ");
  const ticks = fields.reduce((sum, i) => sum + Number(values[i]), 0);
  return (ticks * 1000) / TICKS_PER_SECOND;
}
