/**
 * Timeouts of upstream connections on a coarse clock: each connection keeps a deadline (a
 * number, set per request at no cost) and one shared interval checks them, instead of a
 * timer object armed and cleared per request. A deadline fires between its delay and its
 * delay plus two ticks, never before.
 */

/** Something with a deadline: 0 means none. */
export interface Deadlined {
  deadline: number;
  onDeadline(): void;
}

/** How often deadlines are checked, in ms. */
export const TICK_MS = 100;

let now = performance.now();
const watched = new Set<Deadlined>();
let ticker: NodeJS.Timeout | undefined;

/** The deadline `ms` from now (never early, though `now` lags by up to a tick). */
export function deadlineIn(ms: number): number {
  return now + ms + TICK_MS;
}

/** Starts checking `item`'s deadline. */
export function watch(item: Deadlined): void {
  watched.add(item);
  if (ticker === undefined) {
    now = performance.now();
    ticker = setInterval(tick, TICK_MS);
    // Live client or upstream sockets keep the process up; this timer alone must not.
    ticker.unref();
  }
}

/** Stops checking `item`; the interval stops with the last one. */
export function unwatch(item: Deadlined): void {
  watched.delete(item);
  if (watched.size === 0 && ticker !== undefined) {
    clearInterval(ticker);
    ticker = undefined;
  }
}

function tick(): void {
  now = performance.now();
  for (const item of watched) {
    if (item.deadline > 0 && item.deadline <= now) {
      item.deadline = 0;
      item.onDeadline();
    }
  }
}
