/**
 * Response rate limiting (RRL, as BIND, Knot and NSD do it): UDP answers to one client
 * subnet are limited to a rate, so a spoofed source cannot turn the server into an
 * amplifier. Of the answers over the rate, one in `slip` goes out truncated (TC, no
 * records: smaller than the query), so a real client behind that subnet retries over TCP;
 * the rest are dropped.
 */
import type { ResponseRateLimitConfig } from "../config/schema/index.js";
import { RateLimiter } from "../security/rate-limiter.js";
import { addressBytes, subnetText } from "./address-bytes.js";

/** What to do with one answer. */
export type RateVerdict = "send" | "slip" | "drop";

export class ResponseRateLimit {
  private readonly buckets = new RateLimiter({ ratePerSecond: 0, burst: 0, maxClients: 100_000 });
  private config: ResponseRateLimitConfig | undefined;
  private overLimit = 0;

  constructor(config: ResponseRateLimitConfig | undefined) {
    this.configure(config);
  }

  /** True when a rate is set. */
  get enabled(): boolean {
    return this.config !== undefined && this.config.responses_per_second > 0;
  }

  /** Applies a new rate, slip and prefixes; buckets are kept. */
  configure(config: ResponseRateLimitConfig | undefined): void {
    this.config = config;
    const rate = config?.responses_per_second ?? 0;
    // One second's worth of burst, as BIND's window of one second.
    this.buckets.configure(rate, Math.ceil(rate));
  }

  /** Takes one answer's token for `address`'s subnet. */
  check(address: string): RateVerdict {
    const config = this.config;
    if (config === undefined || config.responses_per_second <= 0) return "send";
    const bytes = addressBytes(address);
    const key =
      bytes === undefined
        ? address
        : subnetText(bytes, bytes.family === 4 ? config.ipv4_prefix : config.ipv6_prefix);
    if (this.buckets.take(key) === 0) return "send";
    if (config.slip === 0) return "drop";
    this.overLimit = (this.overLimit + 1) % config.slip;
    return this.overLimit === 0 ? "slip" : "drop";
  }
}
