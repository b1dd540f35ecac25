/** Ping check (L3): one ICMP echo through the system's `ping`, as keepalived's PING_CHECK. */
import { runCommand } from "./run-command.js";
import type { CheckResult, HealthCheck } from "./types.js";

/**
 * Healthy when one echo is answered within the timeout. The port is ignored. `ping -W`
 * takes whole seconds on older iputils, so the wait is rounded up; the supervisor's
 * timeout still aborts the check on time.
 */
export function createPingCheck(timeoutMs: number): HealthCheck {
  const waitSeconds = String(Math.max(1, Math.ceil(timeoutMs / 1000)));
  return {
    type: "ping",
    check: (target, signal) =>
      // Keep all of ping's short output: the summary it is shortened from comes last.
      runCommand(
        ["ping", "-n", "-q", "-c", "1", "-W", waitSeconds, target.host],
        signal,
        1000,
      ).then(summarizePing),
  };
}

/** ping's summary, shortened to what an operator reads first: the round trip or the loss. */
function summarizePing(result: CheckResult): CheckResult {
  if (result.ok) {
    const rtt = / = [\d.]+\/([\d.]+)\//.exec(result.detail);
    return { ok: true, detail: rtt ? `reply in ${rtt[1]} ms` : result.detail, status: "L3OK" };
  }
  const loss = /(\d+(?:\.\d+)?% packet loss)/.exec(result.detail);
  return { ok: false, detail: loss ? `no reply (${loss[1]})` : result.detail, status: "L3ERR" };
}
