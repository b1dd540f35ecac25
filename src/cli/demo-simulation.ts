/**
 * What `ballast demo` shows when the HTTP listener cannot run: each demo pool's picks for a
 * scripted stream of requests, with a scripted clock so connection counts and latencies move
 * as they would against the real backends.
 */

import { seededRandom } from "../balancer/seeded-random.js";
import type { Config } from "../config/schema/index.js";
import type { Lease } from "../pool/lease.js";
import { Pool } from "../pool/pool.js";
import { backendSpecFromConfig, poolOptionsFromConfig } from "../runtime/pools.js";

const REQUESTS = 18;
const ARRIVAL_GAP_MS = 4;
const USERS = ["alice", "bob", "carol"];

/** One line per pool: the backends chosen for a scripted request stream. */
export function simulatePicks(config: Config, delays: ReadonlyMap<string, number>): string[] {
  const lines: string[] = [];
  for (const [name, section] of Object.entries(config.pools)) {
    let now = 1;
    const pool = new Pool(name, section.backends.map(backendSpecFromConfig), {
      ...poolOptionsFromConfig(section),
      clock: () => now,
      random: seededRandom(42),
    });
    const open: { lease: Lease; endsAt: number }[] = [];
    const picks: string[] = [];
    for (let i = 0; i < REQUESTS; i++) {
      now = 1 + i * ARRIVAL_GAP_MS;
      for (let j = open.length - 1; j >= 0; j--) {
        const { lease, endsAt } = open[j];
        if (endsAt > now) continue;
        lease.release({ ok: true, latencyMs: delays.get(lease.backend.id) ?? 0 });
        open.splice(j, 1);
      }
      const key = section.algorithm === "maglev" ? USERS[i % USERS.length] : undefined;
      const lease = pool.acquire(key);
      if (lease === undefined) {
        picks.push("-");
        continue;
      }
      lease.established();
      open.push({ lease, endsAt: now + (delays.get(lease.backend.id) ?? 0) });
      picks.push(key === undefined ? lease.backend.id : `${key}→${lease.backend.id}`);
    }
    pool.close();
    lines.push(`  ${name} (${section.algorithm}): ${picks.join(" ")}`);
  }
  return lines;
}
