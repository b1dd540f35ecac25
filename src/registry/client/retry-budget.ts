/**
 * A retry budget (Finagle's): retries may add at most `ratio` to the calls made, plus a
 * floor of `minPerSecond`, so retries cannot multiply the load on a struggling service.
 */
export class RetryBudget {
  private tokens: number;
  private lastRefill: number;

  constructor(
    private readonly ratio = 0.2,
    private readonly minPerSecond = 10,
    private readonly clock: () => number = () => performance.now(),
  ) {
    this.tokens = minPerSecond;
    this.lastRefill = clock();
  }

  /** A call was made: it earns `ratio` of a retry. */
  deposit(): void {
    this.refill();
    this.tokens = Math.min(this.tokens + this.ratio, this.cap());
  }

  /** True (and spends one) when a retry is allowed now. */
  tryWithdraw(): boolean {
    this.refill();
    if (this.tokens < 1) return false;
    this.tokens--;
    return true;
  }

  private cap(): number {
    return Math.max(this.minPerSecond, 100 * this.ratio);
  }

  private refill(): void {
    const now = this.clock();
    const seconds = (now - this.lastRefill) / 1000;
    this.lastRefill = now;
    this.tokens = Math.min(this.tokens + seconds * this.minPerSecond, this.cap());
  }
}
