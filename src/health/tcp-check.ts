/** TCP connect check (keepalived TCP_CHECK, HAProxy `check` without options). */
import { connect } from "node:net";
import {
  type CheckResult,
  type CheckTarget,
  describeError,
  failed,
  type HealthCheck,
  passed,
} from "./types.js";

/** Healthy when a TCP connection to the target opens; it is closed again at once. */
export function createTcpCheck(): HealthCheck {
  return { type: "tcp", check: checkTcp };
}

function checkTcp(target: CheckTarget, signal: AbortSignal): Promise<CheckResult> {
  return new Promise((resolve) => {
    if (signal.aborted) return resolve(failed("timed out before connecting", "L4TOUT"));
    const socket = connect({ host: target.host, port: target.port });
    const finish = (result: CheckResult) => {
      signal.removeEventListener("abort", onAbort);
      // destroy, not end: the backend need not see a polite close, and no FIN_WAIT lingers here.
      socket.destroy();
      resolve(result);
    };
    const onAbort = () => finish(failed("timed out connecting", "L4TOUT"));
    signal.addEventListener("abort", onAbort, { once: true });
    socket.once("connect", () => finish(passed("connected", "L4OK")));
    socket.once("error", (error) => finish(failed(describeError(error), "L4CON")));
  });
}
