/**
 * The one test of whether an algorithm may give a backend new work, shared by every
 * algorithm so that none forgets a condition.
 */
import type { Backend } from "../types.js";

/**
 * True when a backend may take new work: available (up, enabled, not draining), not
 * overloaded and of positive weight. IPVS schedulers skip IP_VS_DEST_F_OVERLOAD and weight
 * <= 0 alike; only lblc's cache hit looks at the two flags apart.
 */
export function isSchedulable(backend: Backend): boolean {
  return backend.available && !backend.overloaded && backend.weight > 0;
}
