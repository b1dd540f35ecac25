/** Ping check (L3): one ICMP echo through the system's `ping`, as keepalived's PING_CHECK. */
import { runCommand } from "./run-command.js";
import type { HealthCheck } from "./types.js";

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
      runCommand(["ping", "-n", "-q", "-c", "1", "-W", waitSeconds, target.host], signal),
  };
}
