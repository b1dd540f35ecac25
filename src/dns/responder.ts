/**
 * Turns one DNS query into one answer: the authoritative server's rules (RFC 1034/1035,
 * 2308, 6891, 7871, 8020) over the compiled zones, with address records computed per
 * query from pools. Every byte of the query is hostile: a packet that cannot be read gets
 * FORMERR when its header can be answered, and is dropped otherwise; nothing throws out.
 */
import dnsPacket, { type Answer, type DecodedPacket, type OptAnswer } from "dns-packet";
import type { Coordinates, GeoFacts } from "../config/geo-database.js";
import type { PoolLookup } from "../pool/pool.js";
import { type AddressBytes, addressBytes, subnetText } from "./address-bytes.js";
import {
  CLIENT_SUBNET,
  type ClientSubnet,
  clientSubnetReply,
  readClientSubnet,
} from "./client-subnet.js";
import { answerPoolSet, type ClientFacts } from "./pool-record.js";
import type { LocationMatch, RegionMatch, RegionTable } from "./regions.js";
import { type OptRecord, writeResponse } from "./wire-writer.js";
import {
  type NameNode,
  parent,
  type RecordSet,
  type StaticSet,
  type Zone,
  type ZoneTable,
} from "./zone-table.js";

export const RCODE = {
  NOERROR: 0,
  FORMERR: 1,
  SERVFAIL: 2,
  NXDOMAIN: 3,
  NOTIMP: 4,
  REFUSED: 5,
} as const;
/** BADVERS is 16: 0 in the header's four bits, 1 in the OPT record's extended RCODE. */
const BADVERS = 16;
const FLAG_QR = 0x8000;
const FLAG_AA = 0x0400;
const FLAG_RD = 0x0100;
const FLAG_CD = 0x0010;
/** CNAME chains are followed this far inside our own zones; a loop stops here too. */
const MAX_CHAIN = 8;

/** What the responder needs from its listener: zones, regions, pools and limits. */
export interface ResponderSetup {
  zones: ZoneTable;
  regions: RegionTable;
  pools: PoolLookup;
  maxUdpPayload: number;
}

/** A question as written back. */
type Question = { name: string; raw: Buffer; type: number; class: number };

/** The answer to one query, with what stats and rate limiting need to know. */
export interface Reply {
  /** The wire answer; undefined when the query is dropped. */
  message: Buffer | undefined;
  rcode: number;
  /** The zone that answered, when one did. */
  zone: string | undefined;
  /** The client's region, when a record looked it up. */
  region: string | undefined;
  /** The record set that answered the question's name (a CNAME's, when it has one). */
  record: RecordSet | undefined;
  truncated: boolean;
}

/** A client as the answer sees it: the resolver's address and the ECS subnet, read lazily. */
class ClientView implements ClientFacts {
  private region_: RegionMatch | undefined | null = null;
  private location_: LocationMatch | undefined | null = null;
  private facts_: GeoFacts | undefined | null = null;
  private key_: string | undefined;
  private resolverBytes: AddressBytes | undefined;
  /** The prefix length the answer depends on, for the ECS scope. */
  scope = 0;

  constructor(
    private readonly resolver: string,
    readonly subnet: ClientSubnet | undefined,
    private readonly regions: RegionTable,
  ) {}

  /** The address the answer is for: the ECS subnet when it names one, else the resolver. */
  private address(): AddressBytes | undefined {
    if (this.subnet !== undefined && this.subnet.sourcePrefix > 0) return this.subnet.address;
    this.resolverBytes ??= addressBytes(this.resolver);
    return this.resolverBytes;
  }

  /** What the MaxMind database says of the client, looked up once. */
  private readonly facts = (): GeoFacts | undefined => {
    if (this.facts_ === null) {
      const address = this.address();
      this.facts_ = address === undefined ? undefined : this.regions.facts(address);
    }
    return this.facts_;
  };

  /** The client's region (CIDR blocks, then the database), raising the scope to what it holds for. */
  region(): RegionMatch | undefined {
    if (this.region_ === null) {
      const address = this.address();
      this.region_ = address === undefined ? undefined : this.regions.lookup(address, this.facts);
    }
    this.raiseScopeTo(this.region_?.prefix);
    return this.region_;
  }

  /** Where the client is (for `closest`), raising the scope to what it holds for. */
  location(): Coordinates | undefined {
    if (this.location_ === null) {
      const address = this.address();
      this.location_ =
        address === undefined ? undefined : this.regions.locate(address, this.region(), this.facts);
    }
    this.raiseScopeTo(this.location_?.prefix);
    return this.location_?.location;
  }

  /** A stable hashing key for the client: its ECS subnet, else the resolver's address. */
  key(): string {
    if (this.key_ !== undefined) return this.key_;
    const subnet = this.subnet;
    if (subnet !== undefined && subnet.sourcePrefix > 0) {
      this.raiseScope(subnet.sourcePrefix);
      this.key_ = subnetText(subnet.address, subnet.sourcePrefix);
    } else {
      this.key_ = this.resolver;
    }
    return this.key_;
  }

  /** With ECS: a finding that holds for `prefix` bits (undefined: only the subnet itself). */
  private raiseScopeTo(prefix: number | undefined): void {
    const subnet = this.subnet;
    if (subnet === undefined || subnet.sourcePrefix === 0) return;
    this.raiseScope(prefix ?? subnet.sourcePrefix);
  }

  private raiseScope(prefix: number): void {
    if (prefix > this.scope) this.scope = prefix;
  }
}

/** Answers queries for one listener's zones. */
export class Responder {
  /** The question of the query being answered (answers are made one at a time). */
  private question: Question | undefined;

  constructor(private setup: ResponderSetup) {}

  /** Swaps zones, regions and limits (a reload); queries in flight finish on the old ones. */
  configure(setup: ResponderSetup): void {
    this.setup = setup;
  }

  /** The answer to `message` from `resolver` (its address); `tcp` lifts the UDP size limit. */
  respond(message: Buffer, resolver: string, tcp: boolean): Reply {
    const reply: Reply = {
      message: undefined,
      rcode: RCODE.FORMERR,
      zone: undefined,
      region: undefined,
      record: undefined,
      truncated: false,
    };
    if (message.length < 12) return reply;
    const flags = message.readUInt16BE(2);
    // An answer sent to us is never answered: that is how reflection loops start.
    if ((flags & FLAG_QR) !== 0) return reply;
    const id = message.readUInt16BE(0);
    const opcode = (flags >> 11) & 0xf;
    const rd = flags & FLAG_RD;
    let query: DecodedPacket;
    try {
      query = dnsPacket.decode(message);
    } catch {
      reply.message = headerOnly(id, opcode, rd, RCODE.FORMERR);
      return reply;
    }
    this.question = query.questions?.length === 1 ? rawQuestion(message) : undefined;
    if (opcode !== 0) return this.finish(reply, query, RCODE.NOTIMP, undefined, tcp);
    // One question, written plainly: a compressed question has nothing earlier to point to.
    if (query.questions?.length !== 1 || this.question === undefined) {
      reply.message = headerOnly(id, opcode, rd, RCODE.FORMERR);
      return reply;
    }
    let edns: OptAnswer | undefined;
    for (const record of query.additionals ?? []) {
      if (record.type !== "OPT") continue;
      // RFC 6891 §6.1.1: more than one OPT, or one not owned by the root, is FORMERR.
      if (edns !== undefined || record.name !== ".")
        return this.finish(reply, query, RCODE.FORMERR, undefined, tcp);
      edns = record as OptAnswer;
    }
    if (edns !== undefined && edns.ednsVersion !== 0)
      return this.finish(reply, query, BADVERS, edns, tcp);
    let subnet: ClientSubnet | undefined;
    for (const option of edns?.options ?? []) {
      if (option.code !== CLIENT_SUBNET) continue;
      subnet = readClientSubnet(option.data ?? Buffer.alloc(0));
      if (subnet === undefined) return this.finish(reply, query, RCODE.FORMERR, edns, tcp);
    }
    const question = query.questions[0];
    if (question.class !== "IN" || question.type === "AXFR" || question.type === "IXFR") {
      return this.finish(reply, query, RCODE.REFUSED, edns, tcp);
    }
    const lower = absoluteLower(this.question.name);
    const zone = this.setup.zones.find(lower);
    // Not a resolver: a name outside our zones is refused, never looked up elsewhere.
    if (zone === undefined) return this.finish(reply, query, RCODE.REFUSED, edns, tcp);
    reply.zone = zone.name;
    const client = new ClientView(resolver, subnet, this.setup.regions);
    const found = this.lookup(zone, this.question.name, lower, question.type, client);
    const out: dnsPacket.Packet = {
      type: "response",
      id,
      flags: (found.authoritative ? FLAG_AA : 0) | rd | (flags & FLAG_CD) | (found.rcode & 0xf),
      questions: query.questions,
      answers: found.answers,
      authorities: found.authorities,
      additionals: [],
    };
    reply.region = found.region;
    reply.record = found.record;
    return this.encode(reply, out, found.rcode, edns, subnet, client.scope, tcp);
  }

  /** An answer with only the question (and OPT): errors and refusals. */
  private finish(
    reply: Reply,
    query: DecodedPacket,
    rcode: number,
    edns: OptAnswer | undefined,
    tcp: boolean,
  ): Reply {
    const flags = query.flags ?? 0;
    const out: dnsPacket.Packet = {
      type: "response",
      id: query.id,
      flags: (flags & (0x7800 | FLAG_RD | FLAG_CD)) | (rcode & 0xf),
      questions: query.questions,
      answers: [],
      authorities: [],
      additionals: [],
    };
    return this.encode(reply, out, rcode, edns, undefined, 0, tcp);
  }

  private encode(
    reply: Reply,
    out: dnsPacket.Packet,
    rcode: number,
    edns: OptAnswer | undefined,
    subnet: ClientSubnet | undefined,
    scope: number,
    tcp: boolean,
  ): Reply {
    reply.rcode = rcode;
    const max = this.setup.maxUdpPayload;
    const question = this.question;
    const opt: OptRecord | undefined =
      edns === undefined
        ? undefined
        : {
            udpPayloadSize: max,
            extendedRcode: rcode >> 4,
            options:
              subnet === undefined
                ? []
                : [{ code: CLIENT_SUBNET, data: clientSubnetReply(subnet, scope) }],
          };
    // RFC 6891 §6.2.3-5: a payload size below 512 is read as 512; without EDNS 512 holds.
    const limit = tcp
      ? 65_535
      : edns === undefined
        ? 512
        : Math.min(max, Math.max(512, edns.udpPayloadSize));
    let written: { message: Buffer; truncated: boolean };
    try {
      written = writeResponse(
        {
          id: out.id ?? 0,
          flags: out.flags ?? 0,
          question,
          answers: out.answers ?? [],
          authorities: out.authorities ?? [],
          opt,
        },
        limit,
      );
    } catch {
      // Data this writer cannot write (never expected): a clear failure, not a crash.
      reply.rcode = RCODE.SERVFAIL;
      reply.message = headerOnly(out.id ?? 0, 0, (out.flags ?? 0) & FLAG_RD, RCODE.SERVFAIL);
      return reply;
    }
    reply.message = written.message;
    reply.truncated = written.truncated;
    return reply;
  }

  /** The records of `lower` (spelled `spelled` by the client) for `type`, following CNAMEs. */
  private lookup(
    zone: Zone,
    spelled: string,
    lower: string,
    type: string,
    client: ClientView,
  ): Found {
    const found: Found = {
      rcode: RCODE.NOERROR,
      answers: [],
      authorities: [],
      authoritative: true,
      region: undefined,
      record: undefined,
    };
    let current = zone;
    for (let step = 0; step < MAX_CHAIN; step++) {
      const referral = delegationAbove(current, lower, type);
      if (referral !== undefined) {
        // Below a zone cut we are not the authority: refer to the child's name servers.
        if (found.answers.length === 0) found.authoritative = false;
        found.authorities.push(...withOwner(referral.node.get("NS") as StaticSet, referral.owner));
        return found;
      }
      let node = current.nodes.get(lower);
      if (node === undefined) {
        if (!current.emptyNonTerminals.has(lower)) node = wildcardFor(current, lower);
        if (node === undefined) {
          if (!current.emptyNonTerminals.has(lower)) found.rcode = RCODE.NXDOMAIN;
          found.authorities.push(soaOf(current));
          return found;
        }
      }
      const cname = node.get("CNAME");
      if (cname !== undefined && type !== "CNAME") {
        found.record ??= cname;
        const records = this.records(cname, spelled, client, found);
        if (records === undefined) return servfail(found);
        found.answers.push(...records);
        const target = String(
          cname.kind === "static" ? (cname.records[0] as { data: unknown }).data : "",
        );
        const targetLower = absoluteLower(target);
        const next = this.setup.zones.find(targetLower);
        if (next === undefined) return found;
        current = next;
        spelled = target;
        lower = targetLower;
        continue;
      }
      const sets = type === "ANY" ? [...node.values()] : node.has(type) ? [node.get(type)!] : [];
      for (const set of sets) {
        found.record ??= set;
        const records = this.records(set, spelled, client, found);
        if (records === undefined) return servfail(found);
        found.answers.push(...records);
      }
      if (found.answers.length === 0 || sets.length === 0) found.authorities.push(soaOf(current));
      return found;
    }
    return found;
  }

  /** The records of one set with `owner`; undefined means SERVFAIL (configured for an outage). */
  private records(
    set: RecordSet,
    owner: string,
    client: ClientView,
    found: Found,
  ): Answer[] | undefined {
    if (set.kind === "static") return withOwner(set, owner);
    const answer = answerPoolSet(set, this.setup.pools, client, this.setup.regions);
    if (answer.region !== undefined) found.region = answer.region;
    if (answer.kind === "servfail") return undefined;
    if (answer.kind === "cname")
      return [{ name: owner, type: "CNAME", class: "IN", ttl: set.ttl, data: answer.target }];
    return answer.hosts.map(
      (host) => ({ name: owner, type: set.type, class: "IN", ttl: set.ttl, data: host }) as Answer,
    );
  }
}

interface Found {
  rcode: number;
  answers: Answer[];
  authorities: Answer[];
  authoritative: boolean;
  region: string | undefined;
  record: RecordSet | undefined;
}

function servfail(found: Found): Found {
  found.rcode = RCODE.SERVFAIL;
  found.answers = [];
  found.authorities = [];
  return found;
}

function withOwner(set: { records: Answer[] }, owner: string): Answer[] {
  return set.records.map((record) => ({ ...record, name: owner }) as Answer);
}

function soaOf(zone: Zone): Answer {
  return { name: zone.name, type: "SOA", class: "IN", ttl: zone.negativeTtl, data: zone.soa };
}

/** The NS set of a zone cut between the apex and `name`, if one is there. */
function delegationAbove(
  zone: Zone,
  name: string,
  type: string,
): { owner: string; node: NameNode } | undefined {
  for (
    let candidate: string | undefined = name;
    candidate !== undefined && candidate !== zone.origin;
    candidate = parent(candidate)
  ) {
    if (!zone.holds(candidate)) return undefined;
    const node = zone.nodes.get(candidate);
    // DS lives in the parent at the cut itself (RFC 4035 §3.1.4.1).
    if (node?.has("NS") && !(candidate === name && type === "DS"))
      return { owner: candidate, node };
  }
  return undefined;
}

/** The wildcard node that synthesizes `name` (RFC 4592: `*` below the closest encloser). */
function wildcardFor(zone: Zone, name: string): NameNode | undefined {
  for (
    let encloser = parent(name);
    encloser !== undefined && zone.holds(encloser);
    encloser = parent(encloser)
  ) {
    if (zone.nodes.has(encloser) || zone.emptyNonTerminals.has(encloser)) {
      return zone.nodes.get(`*.${encloser}`);
    }
  }
  return undefined;
}

/** The question's name bytes as they came, with its type and class; undefined if compressed, cut, or a label holds a dot. */
function rawQuestion(message: Buffer): Question | undefined {
  let at = 12;
  const labels: string[] = [];
  while (at < message.length && message[at] !== 0) {
    // A pointer (or the reserved 0x40/0x80 label types) in a question: not written back.
    if (message[at] > 63) return undefined;
    const label = message.toString("latin1", at + 1, at + 1 + message[at]);
    // A dot inside a label would read as two labels: no zone holds such a name.
    if (label.includes(".")) return undefined;
    labels.push(label);
    at += message[at] + 1;
  }
  if (at + 5 > message.length) return undefined;
  const name = labels.length === 0 ? "." : labels.join(".");
  return {
    name,
    raw: message.subarray(12, at + 1),
    type: message.readUInt16BE(at + 1),
    class: message.readUInt16BE(at + 3),
  };
}

/** A header with no sections: the answer to a packet whose question cannot be read. */
function headerOnly(id: number, opcode: number, rd: number, rcode: number): Buffer {
  const out = Buffer.alloc(12);
  out.writeUInt16BE(id, 0);
  out.writeUInt16BE(FLAG_QR | (opcode << 11) | rd | rcode, 2);
  return out;
}

/** "WWW.Example.com" → "www.example.com." */
export function absoluteLower(name: string): string {
  const lower = name.toLowerCase();
  if (lower === "." || lower === "") return ".";
  return lower.endsWith(".") ? lower : `${lower}.`;
}
