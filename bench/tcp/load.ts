/** Load generators of the TCP benchmark (C tools, so the client is not the bottleneck). */
import { spawnSync } from "node:child_process";

/** Requests per second that redis-benchmark reports for one test (its --csv output). */
export function redisBenchmark(
  port: number,
  args: string[],
  limitMs: number,
  wrap: (argv: string[]) => string[] = (argv) => argv,
): number {
  const argv = wrap(["redis-benchmark", "-h", "127.0.0.1", "-p", String(port), "--csv", ...args]);
  const result = spawnSync(argv[0], argv.slice(1), { encoding: "utf8", timeout: limitMs });
  const line = result.stdout.split("\n").find((l) => /^"[A-Z_]+","[\d.]+"/.test(l));
  if (result.status !== 0 || line === undefined || /error/i.test(result.stderr)) {
    throw new Error(`redis-benchmark failed: ${result.stdout}${result.stderr}`);
  }
  return Number(line.split(",")[1].replaceAll('"', ""));
}

/** Megabytes (10^6 bytes) per second that wrk reads over `seconds` from a bulk URL. */
export function wrkMegabytesPerSecond(
  port: number,
  path: string,
  connections: number,
  seconds: number,
  wrap: (argv: string[]) => string[] = (argv) => argv,
): number {
  const argv = wrap([
    "wrk",
    "-t",
    "1",
    "-c",
    String(connections),
    "-d",
    `${seconds}s`,
    `http://127.0.0.1:${port}${path}`,
  ]);
  const result = spawnSync(argv[0], argv.slice(1), {
    encoding: "utf8",
    timeout: (seconds + 30) * 1000,
  });
  const match = /Transfer\/sec:\s+([\d.]+)([KMG]?B)/.exec(result.stdout);
  if (result.status !== 0 || match === null || /Socket errors|Non-2xx/.test(result.stdout)) {
    throw new Error(`wrk failed: ${result.stdout}${result.stderr}`);
  }
  const unit = { B: 1, KB: 1024, MB: 1024 ** 2, GB: 1024 ** 3 }[match[2]] ?? 1;
  return (Number(match[1]) * unit) / 1e6;
}
