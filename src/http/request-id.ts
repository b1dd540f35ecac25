/** Request ids: short, unique per process and cheap (no crypto call per request). */
import { randomBytes } from "node:crypto";

// A random per-process prefix keeps ids from different workers and restarts apart; the
// counter makes them unique within the process without a random draw per request.
const prefix = randomBytes(6).toString("base64url");
let counter = 0;

/** A new request id such as "q3Zx1kPa-1b4". */
export function nextRequestId(): string {
  counter = (counter + 1) % Number.MAX_SAFE_INTEGER;
  return `${prefix}-${counter.toString(36)}`;
}
