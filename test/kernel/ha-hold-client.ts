/**
 * Established connections across a failover, run inside the client namespace: opens N
 * keep-alive connections and sends one request on each (round 1); on SIGUSR1 sends another
 * request on each (round 2) and exits. After each round it prints one JSON line:
 * `{ round, ok, failed }`, where a connection fails when it closes or gives no 200 within
 * the timeout.
 *
 *   ha-hold-client.js --host H --port P --connections N [--timeout-ms 3000]
 */
import { connect, type Socket } from "node:net";
import { fileURLToPath } from "node:url";

/** The compiled path of this script. */
export const HOLD_CLIENT = fileURLToPath(import.meta.url);

/** What the client prints after each round. */
export interface HoldRound {
  round: number;
  ok: number;
  failed: number;
}

function option(args: string[], name: string, fallback: string): string {
  const index = args.indexOf(`--${name}`);
  return index === -1 ? fallback : args[index + 1];
}

/** One keep-alive connection that answers `ask()` with whether a 200 came back in time. */
function holder(host: string, port: number, timeoutMs: number) {
  const socket: Socket = connect({ host, port });
  let response = "";
  let waiting: ((ok: boolean) => void) | undefined;
  let closed = false;
  const settle = (ok: boolean) => {
    const done = waiting;
    waiting = undefined;
    done?.(ok);
  };
  socket.setEncoding("latin1");
  socket.on("data", (chunk: string) => {
    response += chunk;
    // nginx's small answer comes in one piece with its Content-Length; a full head is enough.
    if (/^HTTP\/1\.1 \d{3} /.test(response) && response.includes("\r\n\r\n")) {
      settle(response.startsWith("HTTP/1.1 200 "));
    }
  });
  socket.on("error", () => undefined);
  socket.on("close", () => {
    closed = true;
    settle(false);
  });
  const ready = new Promise<void>((resolve) => socket.once("connect", () => resolve()));
  return {
    async ask(): Promise<boolean> {
      if (closed) return false;
      await ready;
      response = "";
      const answer = new Promise<boolean>((resolve) => {
        waiting = resolve;
      });
      const timer = setTimeout(() => settle(false), timeoutMs);
      socket.write("GET / HTTP/1.1\r\nHost: vip\r\n\r\n");
      const ok = await answer;
      clearTimeout(timer);
      return ok;
    },
    close: () => socket.destroy(),
  };
}

async function round(number: number, holders: ReturnType<typeof holder>[]): Promise<void> {
  const results = await Promise.all(holders.map((h) => h.ask()));
  const ok = results.filter(Boolean).length;
  const line: HoldRound = { round: number, ok, failed: results.length - ok };
  console.log(JSON.stringify(line));
}

if (process.argv[1] === HOLD_CLIENT) {
  const args = process.argv.slice(2);
  const host = option(args, "host", "127.0.0.1");
  const port = Number(option(args, "port", "80"));
  const count = Number(option(args, "connections", "10"));
  const timeoutMs = Number(option(args, "timeout-ms", "3000"));
  const holders = Array.from({ length: count }, () => holder(host, port, timeoutMs));
  await round(1, holders);
  process.once("SIGUSR1", () => {
    void round(2, holders).then(() => {
      for (const h of holders) h.close();
      process.exit(0);
    });
  });
}
