/** Bounded waits for a condition, so a broken feature fails its test instead of hanging. */
import { setTimeout as sleep } from "node:timers/promises";

/**
 * Polls `condition` every `everyMs` until it holds; rejects naming `what` after `limitMs`.
 * A condition that throws ends the wait with its error.
 */
export async function waitFor(
  what: string,
  condition: () => boolean | Promise<boolean>,
  limitMs = 10_000,
  everyMs = 10,
): Promise<void> {
  const deadline = Date.now() + limitMs;
  while (!(await condition())) {
    if (Date.now() > deadline) throw new Error(`gave up after ${limitMs} ms waiting for ${what}`);
    await sleep(everyMs);
  }
}

/** Whether `condition` comes to hold within `limitMs`, checking every 10 ms. */
export async function eventually(condition: () => boolean, limitMs = 5000): Promise<boolean> {
  const deadline = Date.now() + limitMs;
  while (!condition()) {
    if (Date.now() > deadline) return false;
    await sleep(10);
  }
  return true;
}
