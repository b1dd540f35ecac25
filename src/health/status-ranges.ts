/** HTTP status ranges as the config writes them: 200, "200", "200-399", "2xx". */

/** An inclusive range of statuses. */
export interface StatusRange {
  low: number;
  high: number;
}

/** Parses the config's `expect_status` entries; throws on an entry that is not a status range. */
export function parseStatusRanges(entries: readonly (number | string)[]): StatusRange[] {
  return entries.map((entry) => {
    if (typeof entry === "number") return { low: entry, high: entry };
    const classMatch = /^([1-5])xx$/.exec(entry);
    if (classMatch) {
      const base = Number(classMatch[1]) * 100;
      return { low: base, high: base + 99 };
    }
    const rangeMatch = /^(\d{3})(?:-(\d{3}))?$/.exec(entry);
    if (!rangeMatch) throw new Error(`"${entry}" is not a status, range or class such as 2xx`);
    const low = Number(rangeMatch[1]);
    const high = rangeMatch[2] === undefined ? low : Number(rangeMatch[2]);
    if (high < low) throw new Error(`status range "${entry}" ends before it starts`);
    return { low, high };
  });
}

/** True when `status` falls in one of the ranges. */
export function statusInRanges(status: number, ranges: readonly StatusRange[]): boolean {
  for (const range of ranges) if (status >= range.low && status <= range.high) return true;
  return false;
}
