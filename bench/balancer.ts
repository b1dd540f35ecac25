/**
 * Picks per second of every registered algorithm at 10, 100 and 1,000 backends.
 *
 * Each measurement runs in its own child process so that the pick call site sees one
 * balancer class only, as in a pool, instead of every algorithm of the run. Hash
 * algorithms get keys from a precomputed list; connection schedulers see fixed, varied
 * active and inactive counts; ewma sees latency samples.
 *
 * Usage: node dist/bench/balancer.js            (the whole table)
 *        node dist/bench/balancer.js wrr 1000   (one measurement, printed as JSON)
 */
import { spawnSync } from "node:child_process";
import { fileURLToPath } from "node:url";
import {
  algorithmNames,
  algorithms,
  type Backend,
  type PickContext,
} from "../src/balancer/index.js";
import { seededRandom } from "../src/balancer/seeded-random.js";

const SIZES = [10, 100, 1000];
const WARMUP_PICKS = 200_000;
const BATCH = 50_000;
const MEASURE_NS = 300_000_000n;
const MAX_PICKS = 50_000_000;
const KEY_COUNT = 4096;

interface Measurement {
  name: string;
  size: number;
  picksPerSecond: number;
  /** Picks that found no backend (dh and ovf may decline by design). */
  none: number;
}

/** Backends with weights 1..5 and some connections and latency, as a busy pool has. */
function makeBackends(size: number): Backend[] {
  const backends: Backend[] = [];
  for (let i = 0; i < size; i++) {
    backends.push({
      id: `10.1.${i >> 8}.${i & 255}:8080`,
      weight: 1 + (i % 5),
      // At least one each, so nq scans the list instead of taking the first idle backend.
      active: 1 + (i % 7),
      inactive: i % 3,
      available: true,
      overloaded: false,
      latencyMs: 5 + (i % 10),
      latencyAt: 1,
    });
  }
  return backends;
}

/** Measures one algorithm at one size in this process. */
function measure(name: string, size: number): Measurement {
  const info = algorithms[name as keyof typeof algorithms];
  const balancer = info.create();
  balancer.update(makeBackends(size));
  const random = seededRandom(7);
  const keys: string[] = [];
  for (let i = 0; i < KEY_COUNT; i++) {
    keys.push(`10.${(random() * 256) | 0}.${(random() * 256) | 0}.${(random() * 256) | 0}`);
  }
  const context: PickContext = { now: 1000, random, key: undefined };
  const withKey = info.usesKey;
  let none = 0;
  const run = (count: number, offset: number): void => {
    for (let i = 0; i < count; i++) {
      if (withKey) context.key = keys[(offset + i) & (KEY_COUNT - 1)];
      if (balancer.pick(context) === undefined) none++;
    }
  };
  run(WARMUP_PICKS, 0);
  none = 0;
  let picks = 0;
  const start = process.hrtime.bigint();
  let elapsed = 0n;
  while (elapsed < MEASURE_NS && picks < MAX_PICKS) {
    run(BATCH, picks);
    picks += BATCH;
    elapsed = process.hrtime.bigint() - start;
  }
  return { name, size, picksPerSecond: (picks * 1e9) / Number(elapsed), none: none / picks };
}

function formatRate(perSecond: number): string {
  return `${(perSecond / 1e6).toFixed(2)} M/s`;
}

function main(): void {
  const [name, size] = process.argv.slice(2);
  if (name !== undefined) {
    process.stdout.write(JSON.stringify(measure(name, Number(size))));
    return;
  }
  const script = fileURLToPath(import.meta.url);
  const header = ["algorithm", ...SIZES.map((s) => `${s} backends`)];
  const rows: string[][] = [];
  for (const algorithm of algorithmNames) {
    const row: string[] = [algorithm];
    for (const backends of SIZES) {
      const child = spawnSync(process.execPath, [script, algorithm, String(backends)], {
        encoding: "utf8",
        timeout: 60_000,
      });
      if (child.status !== 0) {
        row.push(`error: ${child.stderr.split("\n")[0]}`);
        continue;
      }
      const result = JSON.parse(child.stdout) as Measurement;
      const declined = result.none > 0 ? ` (${(result.none * 100).toFixed(0)}% none)` : "";
      row.push(formatRate(result.picksPerSecond) + declined);
    }
    rows.push(row);
    process.stderr.write(".");
  }
  process.stderr.write("\n");
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i].length)));
  const line = (cells: string[]) => `| ${cells.map((c, i) => c.padEnd(widths[i])).join(" | ")} |`;
  console.log(`picks per second, node ${process.version}`);
  console.log(line(header));
  console.log(`|${widths.map((w) => "-".repeat(w + 2)).join("|")}|`);
  for (const row of rows) console.log(line(row));
}

main();
