/**
 * The http listener's `limits`: allow/deny and connection limits at accept (the socket is
 * closed before a byte is read, or a TLS handshake made), and per request the rate (429 with
 * Retry-After) and allow/deny again (403), since a reload may deny a client whose keep-alive
 * connection is already open.
 */
import type { IncomingMessage, ServerResponse } from "node:http";
import type { Socket } from "node:net";
import type { Duplex } from "node:stream";
import type { LimitsConfig } from "../config/schema/index.js";
import type { Logger } from "../log.js";
import { RateLimitedLog } from "../net/rate-limited-log.js";
import { ClientLimits, retryAfterSeconds } from "../security/client-limits.js";

/** Counters of refusals, merged into the listener's stats. */
export interface GuardCounters {
  /** Connections closed at accept: address denied. */
  deniedConnections: number;
  /** Connections closed at accept: over `connections_per_client` or `max_connections`. */
  limitedConnections: number;
  /** Requests answered 403: address denied after a reload. */
  deniedRequests: number;
  /** Requests answered 429. */
  rateLimited: number;
}

/** Applies one http listener's limits; one per listener, reconfigured on reload. */
export class HttpClientGuard {
  readonly counters: GuardCounters = {
    deniedConnections: 0,
    limitedConnections: 0,
    deniedRequests: 0,
    rateLimited: 0,
  };
  private readonly limits: ClientLimits;
  private readonly refusalLog: RateLimitedLog;
  /** Whether requests need a check: a rate or an address list is set. */
  private checksRequests = false;
  /** Seconds of the last 429's Retry-After. */
  private retryAfter = 1;

  constructor(
    private readonly listener: string,
    config: LimitsConfig | undefined,
    logger: Logger,
  ) {
    this.limits = new ClientLimits(undefined);
    this.refusalLog = new RateLimitedLog(logger, 1000);
    this.configure(config);
  }

  /** Applies a reloaded `limits` section; counts and rate buckets are kept. */
  configure(config: LimitsConfig | undefined): void {
    this.limits.configure(config);
    this.checksRequests = this.limits.limitsRate || this.limits.filtersAddresses;
  }

  /** The server's `connection` handler: refuses at accept or counts the connection. */
  readonly onConnection = (socket: Socket): void => {
    const client = socket.remoteAddress;
    if (client === undefined) return; // already gone
    const refusal = this.limits.openConnection(client);
    if (refusal === undefined) {
      socket.on("close", () => this.limits.closeConnection(client));
      return;
    }
    if (refusal === "denied") this.counters.deniedConnections++;
    else this.counters.limitedConnections++;
    this.refusalLog.warn(
      { listener: this.listener, client, reason: refusal },
      "connection refused at accept",
    );
    socket.destroy();
  };

  /**
   * Checks one request: 0 to go ahead, or the status to answer (403, or 429 with its
   * Retry-After header already set on `res`).
   */
  checkRequest(req: IncomingMessage, res: ServerResponse): number {
    if (!this.checksRequests) return 0;
    const status = this.statusFor(req.socket.remoteAddress);
    if (status === 429) res.setHeader("retry-after", String(this.retryAfter));
    return status;
  }

  /** Checks an upgrade request; when refused, answers on the raw socket and returns false. */
  admitUpgrade(req: IncomingMessage, socket: Duplex, requestId: string): boolean {
    if (!this.checksRequests) return true;
    const status = this.statusFor(req.socket.remoteAddress);
    if (status === 0) return true;
    const reason = status === 429 ? "Too Many Requests" : "Forbidden";
    const retry = status === 429 ? `Retry-After: ${this.retryAfter}\r\n` : "";
    const body = `${status} ${reason}\nrequest id: ${requestId}\n`;
    socket.end(
      `HTTP/1.1 ${status} ${reason}\r\nContent-Type: text/plain\r\n${retry}` +
        `Content-Length: ${body.length}\r\nX-Request-Id: ${requestId}\r\nConnection: close\r\n\r\n${body}`,
    );
    return false;
  }

  private statusFor(client: string | undefined): number {
    if (client === undefined) return 0;
    if (!this.limits.allows(client)) {
      this.counters.deniedRequests++;
      return 403;
    }
    const waitMs = this.limits.takeToken(client);
    if (waitMs === 0) return 0;
    this.counters.rateLimited++;
    this.retryAfter = retryAfterSeconds(waitMs);
    return 429;
  }
}
