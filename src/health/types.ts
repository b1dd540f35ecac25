/** The contract every active health checker implements (tcp, http, send-expect, exec, ping). */

/** Where one check goes: the backend's address, or the check's address/port override. */
export interface CheckTarget {
  host: string;
  port: number;
}

/** What one check found. `detail` is short and human: it shows in logs and the admin API. */
export interface CheckResult {
  ok: boolean;
  detail: string;
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
export function failed(detail: string): CheckResult {
  return { ok: false, detail };
}

/** A passed result. */
export function passed(detail: string): CheckResult {
  return { ok: true, detail };
}

/** The detail of an error thrown by a socket or a child process: its code and message. */
export function describeError(error: unknown): string {
  if (error instanceof Error) {
    const code = (error as NodeJS.ErrnoException).code;
    return code && !error.message.includes(code) ? `${code}: ${error.message}` : error.message;
  }
  return String(error);
}
