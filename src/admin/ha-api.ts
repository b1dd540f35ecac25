/**
 * `GET /api/ha`: this director's fitness as ballast judges it now, and what keepalived reads
 * from the health file (its value and age), so an operator can see why the VIPs moved.
 */

import { readFile, stat } from "node:fs/promises";
import type { ServerResponse } from "node:http";
import { directorFitness } from "../runtime/director-fitness.js";
import type { Runtime } from "../runtime/runtime.js";
import { sendJson } from "./http-util.js";

type Define = (
  method: string,
  path: string,
  handler: (ctx: { runtime: Runtime; res: ServerResponse }) => Promise<void> | void,
) => void;

/** The health file's value and age in ms, or the reason it cannot be read. */
async function readHealthFile(path: string): Promise<Record<string, unknown>> {
  try {
    const [text, info] = await Promise.all([readFile(path, "utf8"), stat(path)]);
    return { path, value: Number(text.trim()), ageMs: Math.max(0, Date.now() - info.mtimeMs) };
  } catch (error) {
    return { path, error: (error as NodeJS.ErrnoException).code ?? String(error) };
  }
}

/** Adds the HA route to the admin API. */
export function defineHaRoutes(route: Define): void {
  route("GET", "/api/ha", async ({ runtime, res }) => {
    const ha = runtime.config.ha;
    if (ha === undefined) {
      sendJson(res, 200, { configured: false });
      return;
    }
    const { fit, reasons } = directorFitness(runtime.pools, ha);
    sendJson(res, 200, {
      configured: true,
      fit,
      reasons,
      instance: ha.instance,
      priority: ha.priority,
      unfitPenalty: ha.unfit_penalty,
      staleAfterMs: ha.stale_after,
      healthFile: await readHealthFile(ha.health_file),
    });
  });
}
