/**
 * A listener's `limits` section as one live object: the access list, the per-client rate
 * and the connection counts. A data plane keeps one for its life and hands every reload's
 * section to `configure`, so rate buckets and connection counts carry over a reload.
 */
import { AccessList } from "./address-matcher.js";
import { ConnectionLimiter, type ConnectionRefusal } from "./connection-limiter.js";
import { type Clock, RateLimiter } from "./rate-limiter.js";

/** The `limits` keys, as the config schema spells them. */
export interface LimitsOptions {
  allow: readonly string[];
  deny: readonly string[];
  rate_per_second: number;
  burst: number;
  connections_per_client: number;
  max_connections: number;
}

/** Why a connection was refused at accept, named after the key that refused it. */
export type Refusal = "denied" | "rate_per_second" | ConnectionRefusal;

const OPEN_ACCESS = new AccessList([], []);

/** Allow/deny, rate and connection limits of one listener. */
export class ClientLimits {
  private access: AccessList = OPEN_ACCESS;
  private readonly rate: RateLimiter;
  private readonly connections = new ConnectionLimiter();

  /** `options` undefined means no limits (connections are still counted). */
  constructor(options: LimitsOptions | undefined, clock?: Clock) {
    this.rate = new RateLimiter({ ratePerSecond: 0, burst: 0, clock });
    this.configure(options);
  }

  /** Applies a new section (or none); throws on a bad address before changing anything. */
  configure(options: LimitsOptions | undefined): void {
    const access =
      options === undefined || (options.allow.length === 0 && options.deny.length === 0)
        ? OPEN_ACCESS
        : new AccessList(options.allow, options.deny);
    this.access = access;
    this.rate.configure(options?.rate_per_second ?? 0, options?.burst ?? 0);
    this.connections.configure(options?.connections_per_client ?? 0, options?.max_connections ?? 0);
  }

  /** Whether allow/deny lets `client` in. */
  allows(client: string): boolean {
    return this.access.allows(client);
  }

  /** Whether any allow or deny entry is set (a per-request re-check has work to do). */
  get filtersAddresses(): boolean {
    return !this.access.open;
  }

  /** Whether a rate is set. */
  get limitsRate(): boolean {
    return this.rate.enabled;
  }

  /**
   * Admits a new connection of `client` and counts it (release it with `closeConnection`),
   * or says why it is refused (then it is not counted). With `takesToken` the connection
   * also takes a rate token (tcp: the rate counts connections; http counts requests).
   */
  openConnection(client: string, takesToken = false): Refusal | undefined {
    if (!this.access.allows(client)) return "denied";
    if (takesToken && this.rate.take(client) > 0) return "rate_per_second";
    return this.connections.open(client);
  }

  /** Uncounts a connection that `openConnection` admitted. */
  closeConnection(client: string): void {
    this.connections.close(client);
  }

  /** Takes a token of `client`'s rate: 0 when admitted, else milliseconds to wait. */
  takeToken(client: string): number {
    return this.rate.take(client);
  }

  /** Open connections on the listener, as counted here. */
  get openConnections(): number {
    return this.connections.openTotal;
  }

  /** Open connections of one client. */
  openConnectionsOf(client: string): number {
    return this.connections.openBy(client);
  }
}

/** Seconds for a Retry-After header: the wait rounded up, at least 1. */
export function retryAfterSeconds(waitMs: number): number {
  return Math.max(1, Math.ceil(waitMs / 1000));
}
