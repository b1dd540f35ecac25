/**
 * The dns data plane's listener: an authoritative server on one address, UDP and TCP on
 * the same port (RFC 7766). UDP answers pass response rate limiting; TCP answers, which
 * cannot be spoofed, do not. Each TCP message is length-prefixed; pipelined queries are
 * answered in order, and an idle or oversized connection is closed.
 */
import { createSocket, type RemoteInfo, type Socket } from "node:dgram";
import { createServer, isIPv6, type Server, type Socket as TcpSocket } from "node:net";
import type { DnsListenerConfig, ListenerConfig } from "../config/schema/index.js";
import type { Listener, ListenerContext, ListenerFactory } from "../net/listener.js";
import { formatHostPort } from "../pool/backend.js";
import { ClientLimits } from "../security/client-limits.js";
import { RegionTable } from "./regions.js";
import { RCODE, type Reply, Responder } from "./responder.js";
import { ResponseRateLimit } from "./response-rate-limit.js";
import { type RecordSet, ZoneTable } from "./zone-table.js";
import { describeZones, type ZoneView } from "./zone-view.js";

/** Creates a dns listener from its config. */
export const createDnsListener: ListenerFactory = (config, context) =>
  new DnsListener(config as DnsListenerConfig, context);

/** Bytes of answers a TCP client may leave unread before its queries are no longer read. */
const MAX_UNREAD_ANSWERS = 256 * 1024;

const RCODE_NAMES = ["NOERROR", "FORMERR", "SERVFAIL", "NXDOMAIN", "NOTIMP", "REFUSED"];

/** An authoritative DNS listener; `zones()` shows what each name answers now. */
export class DnsListener implements Listener {
  readonly protocol = "dns" as const;
  readonly name: string;
  private config: DnsListenerConfig;
  private udp: Socket | undefined;
  private tcp: Server | undefined;
  private readonly tcpSockets = new Set<TcpSocket>();
  private readonly responder: Responder;
  private zoneTable: ZoneTable;
  private regionTable: RegionTable;
  private readonly rateLimit: ResponseRateLimit;
  private readonly limits: ClientLimits;
  private readonly counters = {
    queries: 0,
    answersNoError: 0,
    answersNxDomain: 0,
    answersServFail: 0,
    answersRefused: 0,
    answersFormErr: 0,
    answersNotImp: 0,
    answersOther: 0,
    /** Answers sent with TC because they did not fit the client's UDP size. */
    truncated: 0,
    /** Queries dropped unanswered: unreadable header, a response, or denied. */
    dropped: 0,
    /** Over the response rate: dropped, and slipped (sent truncated). */
    rateLimitedDropped: 0,
    rateLimitedSlipped: 0,
    tcpAccepted: 0,
  };
  /** Answers by zone and RCODE name, for the metrics. */
  private readonly byZone = new Map<string, Map<string, number>>();
  /** Answers by region, for the metrics. */
  private readonly byRegion = new Map<string, number>();
  /** Answers by the record set that answered, since the last reload (a Map lookup per query). */
  private byRecord = new Map<RecordSet, number>();
  /** Answers by zone, owner name and type from before the last reload. */
  private readonly recordTotals = new Map<string, number>();

  constructor(
    config: DnsListenerConfig,
    private readonly context: ListenerContext,
  ) {
    this.name = config.name;
    this.config = config;
    // The old zones' record sets go; their counts stay, by name.
    this.foldRecordCounts();
    this.zoneTable = new ZoneTable(config.zones);
    this.regionTable = regionTableOf(config);
    this.responder = new Responder(this.setup());
    this.rateLimit = new ResponseRateLimit(config.rate_limit);
    this.limits = new ClientLimits(config.limits);
  }

  /** Binds UDP and TCP on the same address and port. */
  async start(): Promise<void> {
    const { host, port } = this.config.bind;
    // Port 0 lets UDP choose; TCP may find that port taken, so a few choices are tried.
    for (let attempt = 1; ; attempt++) {
      try {
        await this.bindBoth(host, port);
        return;
      } catch (error) {
        const code = (error as NodeJS.ErrnoException).code;
        if (port !== 0 || code !== "EADDRINUSE" || attempt >= 10) {
          throw new Error(
            `listener "${this.name}": cannot listen on ${formatHostPort(host, port)}: ${(error as Error).message}`,
          );
        }
      }
    }
  }

  private async bindBoth(host: string, port: number): Promise<void> {
    // Answers go to the address a query came from, always an IP: no name lookup (and no
    // deferred callback) per answer.
    const udp = createSocket({ type: isIPv6(host) ? "udp6" : "udp4", lookup: literalAddress });
    let tcp: Server | undefined;
    try {
      await new Promise<void>((resolve, reject) => {
        udp.once("error", reject);
        udp.bind(port, host, () => {
          udp.off("error", reject);
          resolve();
        });
      });
      const bound = udp.address().port;
      const server = createServer({ noDelay: true });
      tcp = server;
      await new Promise<void>((resolve, reject) => {
        server.once("error", reject);
        // Not `exclusive`: in a worker of `workers: N` that binds a socket of its own, and
        // the second worker's bind fails; shared, the primary deals connections to each.
        server.listen({ host, port: bound }, () => {
          server.off("error", reject);
          resolve();
        });
      });
    } catch (error) {
      udp.close();
      throw error;
    }
    this.udp = udp;
    this.tcp = tcp;
    udp.on("error", (error) =>
      this.context.logger.error({ listener: this.name, err: error }, "dns udp error"),
    );
    udp.on("message", this.onDatagram);
    tcp.on("connection", this.onConnection);
    tcp.on("error", (error) =>
      this.context.logger.error({ listener: this.name, err: error }, "dns tcp error"),
    );
  }

  /** Applies new zones, regions and limits in place; sockets stay open. */
  update(config: ListenerConfig): void {
    if (config.protocol !== "dns") return;
    this.config = config;
    // The old zones' record sets go; their counts stay, by name.
    this.foldRecordCounts();
    this.zoneTable = new ZoneTable(config.zones);
    this.regionTable = regionTableOf(config);
    this.responder.configure(this.setup());
    this.rateLimit.configure(config.rate_limit);
    this.limits.configure(config.limits);
  }

  /** Closes both sockets; open TCP connections finish their answer and close. */
  async stop(options: { graceful?: boolean; timeoutMs?: number } = {}): Promise<void> {
    const udp = this.udp;
    const tcp = this.tcp;
    this.udp = undefined;
    this.tcp = undefined;
    if (udp) await new Promise<void>((resolve) => udp.close(() => resolve()));
    for (const socket of this.tcpSockets) {
      if (options.graceful === false) socket.destroy();
      else socket.end();
    }
    if (tcp) {
      const closed = new Promise<void>((resolve) => tcp.close(() => resolve()));
      const timer = setTimeout(() => {
        for (const socket of this.tcpSockets) socket.destroy();
      }, options.timeoutMs ?? 1000);
      await closed;
      clearTimeout(timer);
    }
  }

  /** The bound address. */
  address(): { host: string; port: number } {
    const bound = this.udp?.address();
    return { host: this.config.bind.host, port: bound?.port ?? this.config.bind.port };
  }

  /** Counters for the admin API and metrics. */
  stats(): Record<string, number> {
    return { ...this.counters, tcpOpen: this.tcpSockets.size };
  }

  /** Answers by zone and RCODE name, by region, and by record (zone, name, type), since the start. */
  answerCounts(): {
    zones: Record<string, Record<string, number>>;
    regions: Record<string, number>;
    records: { zone: string; name: string; type: string; answers: number }[];
  } {
    const zones: Record<string, Record<string, number>> = {};
    for (const [zone, counts] of this.byZone) zones[zone] = Object.fromEntries(counts);
    this.foldRecordCounts();
    const records = [...this.recordTotals].map(([key, answers]) => {
      const [zone, name, type] = JSON.parse(key) as [string, string, string];
      return { zone, name, type, answers };
    });
    return { zones, regions: Object.fromEntries(this.byRegion), records };
  }

  /** Moves the counts per record set into the totals by zone, name and type. */
  private foldRecordCounts(): void {
    for (const [set, count] of this.byRecord) {
      const key = JSON.stringify([set.zone, set.owner, set.type]);
      this.recordTotals.set(key, (this.recordTotals.get(key) ?? 0) + count);
    }
    this.byRecord = new Map();
  }

  /** Each zone's names and what they answer now, per region (for `ballast ctl` and the admin API). */
  zones(): ZoneView[] {
    return describeZones(
      this.zoneTable,
      this.regionTable,
      Object.keys(this.config.regions),
      this.context.pools,
    );
  }

  private setup() {
    return {
      zones: this.zoneTable,
      regions: this.regionTable,
      pools: this.context.pools,
      maxUdpPayload: this.config.max_udp_payload,
    };
  }

  private readonly onDatagram = (message: Buffer, remote: RemoteInfo): void => {
    this.counters.queries++;
    if (this.limits.filtersAddresses && !this.limits.allows(remote.address)) {
      this.counters.dropped++;
      return;
    }
    const reply = this.responder.respond(message, remote.address, false);
    this.count(reply);
    let out = reply.message;
    if (out === undefined) return;
    if (this.rateLimit.enabled) {
      const verdict = this.rateLimit.check(remote.address);
      if (verdict === "drop") {
        this.counters.rateLimitedDropped++;
        return;
      }
      if (verdict === "slip") {
        this.counters.rateLimitedSlipped++;
        out = truncatedCopy(out);
      }
    }
    this.udp?.send(out, remote.port, remote.address);
  };

  private readonly onConnection = (socket: TcpSocket): void => {
    const address = socket.remoteAddress ?? "";
    if (
      this.tcpSockets.size >= this.config.max_tcp_connections ||
      (this.limits.filtersAddresses && !this.limits.allows(address))
    ) {
      socket.destroy();
      return;
    }
    this.counters.tcpAccepted++;
    this.tcpSockets.add(socket);
    socket.setTimeout(this.config.tcp_idle, () => socket.destroy());
    socket.on("error", () => socket.destroy());
    socket.on("close", () => this.tcpSockets.delete(socket));
    let pending: Buffer = Buffer.alloc(0);
    socket.on("data", (chunk: Buffer) => {
      pending = pending.length === 0 ? chunk : Buffer.concat([pending, chunk]);
      // Every complete message in the buffer is answered now, in order.
      while (pending.length >= 2) {
        const length = pending.readUInt16BE(0);
        if (pending.length < 2 + length) break;
        const message = pending.subarray(2, 2 + length);
        pending = pending.subarray(2 + length);
        this.counters.queries++;
        const reply = this.responder.respond(message, address, true);
        this.count(reply);
        if (reply.message === undefined) {
          // A query we cannot answer ends the connection: its framing is no longer trusted.
          socket.destroy();
          return;
        }
        const frame = Buffer.allocUnsafe(2 + reply.message.length);
        frame.writeUInt16BE(reply.message.length, 0);
        reply.message.copy(frame, 2);
        // A client that sends queries and reads no answers stops being read, rather than
        // growing our buffers.
        if (!socket.write(frame) && socket.writableLength > MAX_UNREAD_ANSWERS) {
          socket.pause();
          socket.once("drain", () => socket.resume());
        }
      }
      if (pending.length > 0 && pending.buffer.byteLength > 4 * 65_538)
        pending = Buffer.from(pending);
    });
  };

  private count(reply: Reply): void {
    const counters = this.counters;
    if (reply.message === undefined) {
      counters.dropped++;
      return;
    }
    if (reply.truncated) counters.truncated++;
    switch (reply.rcode) {
      case RCODE.NOERROR:
        counters.answersNoError++;
        break;
      case RCODE.NXDOMAIN:
        counters.answersNxDomain++;
        break;
      case RCODE.SERVFAIL:
        counters.answersServFail++;
        break;
      case RCODE.REFUSED:
        counters.answersRefused++;
        break;
      case RCODE.FORMERR:
        counters.answersFormErr++;
        break;
      case RCODE.NOTIMP:
        counters.answersNotImp++;
        break;
      default:
        counters.answersOther++;
    }
    if (reply.zone !== undefined) {
      let counts = this.byZone.get(reply.zone);
      if (counts === undefined) {
        counts = new Map();
        this.byZone.set(reply.zone, counts);
      }
      const name = RCODE_NAMES[reply.rcode] ?? `RCODE${reply.rcode}`;
      counts.set(name, (counts.get(name) ?? 0) + 1);
    }
    if (reply.region !== undefined)
      this.byRegion.set(reply.region, (this.byRegion.get(reply.region) ?? 0) + 1);
    if (reply.record !== undefined)
      this.byRecord.set(reply.record, (this.byRecord.get(reply.record) ?? 0) + 1);
  }
}

/** The regions, database and backend locations of `config`, compiled. */
function regionTableOf(config: DnsListenerConfig): RegionTable {
  return new RegionTable(config.regions, config.geo_database, config.locations);
}

/** The header and question of an answer with TC set and nothing else: RRL's slip. */
function truncatedCopy(message: Buffer): Buffer {
  const out = Buffer.from(message);
  out.writeUInt16BE(out.readUInt16BE(2) | 0x0200, 2);
  // Sections after the question are dropped by zeroing their counts and cutting the bytes.
  const questionEnd = endOfQuestion(out);
  out.writeUInt16BE(0, 6);
  out.writeUInt16BE(0, 8);
  out.writeUInt16BE(0, 10);
  return out.subarray(0, questionEnd);
}

/** Where the (single, uncompressed) question of an answer we wrote ends. */
function endOfQuestion(message: Buffer): number {
  if (message.readUInt16BE(4) === 0) return 12;
  let offset = 12;
  while (offset < message.length && message[offset] !== 0) offset += message[offset] + 1;
  return Math.min(message.length, offset + 5);
}

/** A dgram `lookup` for addresses that are already IPs: answers at once, as given. */
function literalAddress(
  address: string,
  _options: unknown,
  callback: (error: Error | null, address: string, family: number) => void,
): void {
  callback(null, address, isIPv6(address) ? 6 : 4);
}
