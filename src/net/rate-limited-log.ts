/**
 * A warning that may repeat once per connection or datagram (no backend, unknown pool):
 * logged at most once per interval, with the number of repeats it stood for, so an outage
 * cannot flood the log.
 */
import type { Logger } from "../log.js";

export class RateLimitedLog {
  private lastAt = Number.NEGATIVE_INFINITY;
  private suppressed = 0;

  constructor(
    private readonly logger: Logger,
    private readonly intervalMs: number,
  ) {}

  /** Logs `message` unless one was logged less than the interval ago. */
  warn(fields: Record<string, unknown>, message: string): void {
    const now = performance.now();
    if (now - this.lastAt < this.intervalMs) {
      this.suppressed++;
      return;
    }
    this.lastAt = now;
    const repeats = this.suppressed;
    this.suppressed = 0;
    this.logger.warn(repeats > 0 ? { ...fields, suppressedSinceLast: repeats } : fields, message);
  }
}
