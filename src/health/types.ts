/** The contract every active health checker implements (tcp, http, send-expect, exec, ping). */
import type { BackendRole } from "../pool/backend.js";

/** Where one check goes: the backend's address, or the check's address/port override. */
export interface CheckTarget {
  host: string;
  port: number;
}

/**
 * A check's outcome in HAProxy's `check_status` words, so operators read what they know:
 * L4 = the connection (L4OK, L4TOUT timed out, L4CON refused or unreachable), L7 = the
 * answer (L7OK, L7STS wrong status, L7RSP wrong or broken reply, L7TOUT no reply in time),
 * PROC = an exec command (PROCOK, PROCERR non-zero exit, PROCTOUT killed at the timeout),
 * L3 = ping (L3OK, L3ERR), INI = not checked yet, UNK = the checker itself failed.
 */
export type CheckStatus =
  | "INI"
  | "UNK"
  | "L3OK"
  | "L3ERR"
  | "L4OK"
  | "L4TOUT"
  | "L4CON"
  | "L7OK"
  | "L7STS"
  | "L7RSP"
  | "L7TOUT"
  | "PROCOK"
  | "PROCERR"
  | "PROCTOUT";

/** What one check found. `detail` is short and human: it shows in logs and the admin API. */
export interface CheckResult {
  ok: boolean;
  detail: string;
  /** The kind of outcome; the supervisor assumes L4OK / L4CON when a checker gives none. */
  status?: CheckStatus;
  /** The HTTP status of an http check's answer (HAProxy's `check_code`). */
  code?: number;
  /** The role a database check found (mysql, postgres, redis); absent when not known. */
  role?: BackendRole;
}

/**
 * One kind of check, configured once and run against many targets concurrently.
 * `check` never rejects: every failure, including the abort that ends a timed-out check,
 * resolves to `{ ok: false, detail }`, and every socket or child process it opened is
 * closed by the time it resolves.
 */
export interface HealthCheck {
  /** The check's type as the config names it (`tcp`, `http`, ...). */
  readonly type: string;
  /** Runs one check; `signal` aborts it (the supervisor's timeout). */
  check(target: CheckTarget, signal: AbortSignal): Promise<CheckResult>;
}

/** A failed result whose detail names the cause. */
export function failed(detail: string, status?: CheckStatus, code?: number): CheckResult {
  return result(false, detail, status, code);
}

/** A passed result. */
export function passed(detail: string, status?: CheckStatus, code?: number): CheckResult {
  return result(true, detail, status, code);
}

/** A result that also names the node's role (a database check's). */
export function withRole(checked: CheckResult, role: BackendRole): CheckResult {
  return { ...checked, role };
}

/** A result with only the fields that are known, so results compare and print cleanly. */
function result(ok: boolean, detail: string, status?: CheckStatus, code?: number): CheckResult {
  const built: CheckResult = { ok, detail };
  if (status !== undefined) built.status = status;
  if (code !== undefined) built.code = code;
  return built;
}

/** The detail of an error thrown by a socket or a child process: its code and message. */
export function describeError(error: unknown): string {
  if (error instanceof Error) {
    const code = (error as NodeJS.ErrnoException).code;
    return code && !error.message.includes(code) ? `${code}: ${error.message}` : error.message;
  }
  return String(error);
}
