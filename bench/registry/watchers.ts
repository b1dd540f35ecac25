/**
 * Event-stream watchers for the registry benchmark: each notes when it first sees a marker
 * text, so the bench can time a change from its cause to the last watcher that has it.
 * Watchers run in the benchmark's main thread, beside the registry, so their parsing counts
 * against the figures.
 */
import { Agent, type IncomingMessage, request } from "node:http";

/** One open stream: the end of what it read, and when it saw the marker (0: not yet). */
export interface Watcher {
  tail: string;
  seenAt: number;
}

/** Opens `count` event streams on a service; resolves once each has its snapshot. */
export async function openWatchers(
  base: string,
  token: string,
  service: string,
  count: number,
  marker: { text: string },
): Promise<Watcher[]> {
  const agent = new Agent({ keepAlive: false, maxSockets: Number.POSITIVE_INFINITY });
  const open = (watcher: Watcher) =>
    new Promise<void>((resolve, reject) => {
      const req = request(
        `${base}/api/registry/services/${service}/events`,
        { agent, headers: { authorization: `Bearer ${token}` } },
        (res: IncomingMessage) => {
          res.setEncoding("utf8");
          let ready = false;
          res.on("data", (chunk: string) => {
            const text = watcher.tail + chunk;
            if (!ready && text.includes("\n\n")) {
              ready = true;
              resolve();
            }
            if (marker.text !== "" && watcher.seenAt === 0 && text.includes(marker.text)) {
              watcher.seenAt = performance.now();
            }
            watcher.tail = text.slice(-200);
          });
        },
      );
      req.on("error", reject);
      req.end();
    });
  const watchers: Watcher[] = [];
  // A hundred at a time, each tried up to three times: a burst of a thousand connections
  // overflows the listen backlog of a loaded machine, which is not what is measured here.
  for (let first = 0; first < count; first += 100) {
    const group = Array.from({ length: Math.min(100, count - first) }, () => ({
      tail: "",
      seenAt: 0,
    }));
    await Promise.all(
      group.map(async (watcher) => {
        for (let attempt = 1; ; attempt++) {
          try {
            await open(watcher);
            return;
          } catch (error) {
            if (attempt >= 3) throw error;
            watcher.tail = "";
          }
        }
      }),
    );
    watchers.push(...group);
  }
  return watchers;
}

/** Resolves with the time the last watcher saw the marker, once every one has (30 s at most). */
export async function waitAllSeen(watchers: Watcher[]): Promise<number> {
  const giveUpAt = performance.now() + 30_000;
  while (performance.now() < giveUpAt) {
    let last = 0;
    let all = true;
    for (const w of watchers) {
      if (w.seenAt === 0) {
        all = false;
        break;
      }
      if (w.seenAt > last) last = w.seenAt;
    }
    if (all) return last;
    await new Promise((r) => setTimeout(r, 5));
  }
  const missing = watchers.filter((w) => w.seenAt === 0).length;
  throw new Error(`${missing} of ${watchers.length} watchers did not see the change within 30 s`);
}
