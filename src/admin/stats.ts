/**
 * The stats export: one row per backend and one total row per pool, with HAProxy's `show
 * stat` column names where ballast has the same quantity (scur, smax, slim, qcur, qmax, stot,
 * bin, bout, econ, eresp, status, lastchg, downtime, check_status...), as CSV or JSON.
 */
import type { ServerResponse } from "node:http";
import { HttpError, sendJson } from "./http-util.js";
import type { BackendView, PoolView } from "./state.js";

/** The columns, in order; `pool` and `backend` name the row ("TOTAL" for a pool's sums). */
export const STATS_COLUMNS = [
  "pool",
  "backend",
  "address",
  "status",
  "weight",
  "effective_weight",
  "scur",
  "smax",
  "slim",
  "qcur",
  "qmax",
  "stot",
  "picks",
  "rate",
  "bin",
  "bout",
  "failures",
  "econ",
  "eresp",
  "chkfail",
  "chkdown",
  "lastchg",
  "downtime",
  "check_status",
  "check_code",
  "check_duration",
  "check_desc",
  "check_rise_count",
  "check_fall_count",
  "last_chk_at",
] as const;

type StatsRow = Record<(typeof STATS_COLUMNS)[number], string | number | null>;

/** The rows of the export: each pool's backends, then its total row. */
export function statsRows(pools: readonly PoolView[]): StatsRow[] {
  const rows: StatsRow[] = [];
  for (const pool of pools) {
    for (const backend of pool.backends) rows.push(backendRow(pool.name, backend));
    const t = pool.totals;
    rows.push({
      ...emptyRow(),
      pool: pool.name,
      backend: "TOTAL",
      status: `${t.available}/${t.backends} available`,
      scur: t.active,
      qcur: t.inactive,
      stot: t.requests,
      picks: t.picks,
      rate: t.requestsPerSecond,
      bin: t.bytesIn,
      bout: t.bytesOut,
      failures: t.failures,
      econ: t.connectErrors,
      eresp: t.responseErrors,
    });
  }
  return rows;
}

function emptyRow(): StatsRow {
  return Object.fromEntries(STATS_COLUMNS.map((column) => [column, null])) as StatsRow;
}

function backendRow(pool: string, b: BackendView): StatsRow {
  const sessions = b.sessions as { current: number; max: number; limit: number | null };
  const queue = b.queue as { current: number; max: number };
  const errors = b.errors as { connect: number; response: number };
  const check = b.check as Record<string, unknown> | null;
  return {
    pool,
    backend: b.id,
    address: b.address as string,
    status: b.status as string,
    weight: b.weight as number,
    effective_weight: Math.round((b.effectiveWeight as number) * 100) / 100,
    scur: sessions.current,
    smax: sessions.max,
    slim: sessions.limit,
    qcur: queue.current,
    qmax: queue.max,
    stot: b.requests as number,
    picks: b.picks as number,
    rate: b.requestsPerSecond,
    bin: b.bytesIn as number,
    bout: b.bytesOut as number,
    failures: b.failures as number,
    econ: errors.connect,
    eresp: errors.response,
    chkfail: (check?.failedChecks as number | undefined) ?? null,
    chkdown: (check?.downTransitions as number | undefined) ?? null,
    lastchg: b.stateSeconds as number,
    downtime: b.downtimeSeconds as number,
    check_status: (check?.status as string | undefined) ?? null,
    check_code: (check?.code as number | null | undefined) ?? null,
    check_duration: (check?.durationMs as number | null | undefined) ?? null,
    check_desc: (check?.lastDetail as string | undefined) ?? null,
    check_rise_count: (check?.consecutiveSuccesses as number | undefined) ?? null,
    check_fall_count: (check?.consecutiveFailures as number | undefined) ?? null,
    last_chk_at: (check?.lastCheckAt as string | null | undefined) ?? null,
  };
}

/** RFC 4180 CSV with a header line; empty cells for values that do not apply. */
export function statsCsv(rows: readonly StatsRow[]): string {
  const lines = [STATS_COLUMNS.join(",")];
  for (const row of rows) lines.push(STATS_COLUMNS.map((column) => csvCell(row[column])).join(","));
  return `${lines.join("\r\n")}\r\n`;
}

/**
 * One cell. Backend ids and check details come from outside (registry instances, backend
 * replies), so text is quoted when it holds a separator, and text a spreadsheet would run
 * as a formula (=, +, -, @, tab, CR first) gets a leading apostrophe (OWASP's advice).
 */
function csvCell(value: string | number | null): string {
  if (value === null) return "";
  if (typeof value === "number") return String(value);
  let text = value;
  if (/^[=+\-@\t\r]/.test(text)) text = `'${text}`;
  return /[",\r\n]/.test(text) ? `"${text.replaceAll('"', '""')}"` : text;
}

/** Answers GET /api/stats: JSON rows by default, CSV with `?format=csv`. */
export function sendStats(
  res: ServerResponse,
  pools: readonly PoolView[],
  format: string | null,
): void {
  if (format !== null && format !== "json" && format !== "csv") {
    throw new HttpError(400, `unknown format "${format}"`, { formats: ["json", "csv"] });
  }
  const rows = statsRows(pools);
  if (format !== "csv") {
    sendJson(res, 200, rows);
    return;
  }
  const text = statsCsv(rows);
  res.writeHead(200, {
    "content-type": "text/csv; charset=utf-8",
    "content-length": Buffer.byteLength(text),
    "content-disposition": 'attachment; filename="ballast-stats.csv"',
    "cache-control": "no-store",
  });
  res.end(text);
}
