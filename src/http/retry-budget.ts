/**
 * A retry budget (Envoy's idea, Finagle's RetryBudget): retries may add at most
 * `percent` of the requests seen over the last 10 seconds, plus a small floor per second so a
 * quiet listener can still retry. During an outage every request would otherwise turn into
 * 1 + attempts requests, and the retries would keep the backends down.
 */

const SLOTS = 10;
const SLOT_MS = 1000;

/** Counts requests and retries in ten one-second slots. */
export class RetryBudget {
  private readonly requests = new Float64Array(SLOTS);
  private readonly retries = new Float64Array(SLOTS);
  /** Which second each slot currently counts. */
  private readonly slotSecond = new Float64Array(SLOTS).fill(-1);

  constructor(
    private percent: number,
    private minPerSecond: number,
  ) {}

  /** Changes the limits (config reload) and keeps the counts. */
  configure(percent: number, minPerSecond: number): void {
    this.percent = percent;
    this.minPerSecond = minPerSecond;
  }

  /** Counts one client request (called per request: two array writes). */
  recordRequest(nowMs: number): void {
    this.requests[this.slot(nowMs)]++;
  }

  /** True, and the retry is counted, when the budget allows one more retry now. */
  tryRetry(nowMs: number): boolean {
    const current = this.slot(nowMs);
    const second = Math.floor(nowMs / SLOT_MS);
    let requests = 0;
    let retries = 0;
    for (let i = 0; i < SLOTS; i++) {
      if (second - this.slotSecond[i] >= SLOTS) continue;
      requests += this.requests[i];
      retries += this.retries[i];
    }
    const allowed =
      retries < (requests * this.percent) / 100 || this.retries[current] < this.minPerSecond;
    if (allowed) this.retries[current]++;
    return allowed;
  }

  private slot(nowMs: number): number {
    const second = Math.floor(nowMs / SLOT_MS);
    const index = second % SLOTS;
    if (this.slotSecond[index] !== second) {
      this.slotSecond[index] = second;
      this.requests[index] = 0;
      this.retries[index] = 0;
    }
    return index;
  }
}
