/**
 * A paced load of new connections for the failover tests, run inside the client namespace:
 * one new connection (`GET / HTTP/1.0`) every 1000/rate ms, whatever happened to the earlier
 * ones, so a failover window costs a bounded number of attempts however fast they fail
 * (a refused connection fails at once; an unanswered SYN only after the timeout).
 *
 *   ha-load-client.js --host H --port P --rate 50 --duration-ms 12000 [--timeout-ms 2000]
 *
 * Prints one JSON line: LoadResult.
 */
import { connect } from "node:net";
import { fileURLToPath } from "node:url";

/** The compiled path of this script. */
export const LOAD_CLIENT = fileURLToPath(import.meta.url);

/** What the client prints. */
export interface LoadResult {
  /** Date.now() when the first connection was opened (the test's clock: same host). */
  startedAt: number;
  ok: number;
  failed: number;
  /** When each failed connection was opened, in ms since startedAt. */
  failures: number[];
}

function option(args: string[], name: string, fallback: number): number {
  const index = args.indexOf(`--${name}`);
  return index === -1 ? fallback : Number(args[index + 1]);
}

/** Whether one new connection got a 200 answer within `timeoutMs`. */
function attempt(host: string, port: number, timeoutMs: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = connect({ host, port });
    let response = "";
    const timer = setTimeout(() => socket.destroy(), timeoutMs);
    socket.setEncoding("latin1");
    socket.on("connect", () => socket.write("GET / HTTP/1.0\r\nHost: vip\r\n\r\n"));
    socket.on("data", (chunk: string) => {
      if (response.length < 4096) response += chunk;
    });
    socket.on("error", () => undefined);
    socket.on("close", () => {
      clearTimeout(timer);
      resolve(/^HTTP\/1\.[01] 200 /.test(response));
    });
  });
}

async function main(args: string[]): Promise<LoadResult> {
  const hostIndex = args.indexOf("--host");
  const host = hostIndex === -1 ? "127.0.0.1" : args[hostIndex + 1];
  const port = option(args, "port", 80);
  const rate = option(args, "rate", 50);
  const durationMs = option(args, "duration-ms", 10_000);
  const timeoutMs = option(args, "timeout-ms", 2000);
  const result: LoadResult = { startedAt: Date.now(), ok: 0, failed: 0, failures: [] };
  const pending: Promise<void>[] = [];
  const count = Math.floor((durationMs * rate) / 1000);
  for (let i = 0; i < count; i++) {
    const due = result.startedAt + (i * 1000) / rate;
    const wait = due - Date.now();
    if (wait > 0) await new Promise((resolve) => setTimeout(resolve, wait));
    const openedAt = Date.now() - result.startedAt;
    pending.push(
      attempt(host, port, timeoutMs).then((ok) => {
        if (ok) result.ok++;
        else {
          result.failed++;
          result.failures.push(openedAt);
        }
      }),
    );
  }
  await Promise.all(pending);
  result.failures.sort((a, b) => a - b);
  return result;
}

if (process.argv[1] === LOAD_CLIENT) {
  console.log(JSON.stringify(await main(process.argv.slice(2))));
}
