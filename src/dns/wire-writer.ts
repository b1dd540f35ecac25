/**
 * Writes answers to the wire. dns-packet reads the queries; answers are written here because
 * the library compresses no names (60 A records of one name do not fit 1232 bytes without
 * compression, and do with it) and its writer was the largest cost of an answer in the
 * profile. Names are compressed by exact spelling (RFC 1035 §4.1.4), so the owner keeps the
 * client's spelling of the question. A test decodes what is written here with dns-packet.
 */
import type { Answer, SoaData } from "dns-packet";
import { NOT_IPV4, parseIPv4, parseIPv6 } from "../security/ip-address.js";

const TYPE_CODES: Record<string, number> = {
  A: 1,
  NS: 2,
  CNAME: 5,
  SOA: 6,
  MX: 15,
  TXT: 16,
  AAAA: 28,
  SRV: 33,
};
/** Largest answer written (a TCP message). */
const MAX_MESSAGE = 65_535;
const scratch = Buffer.alloc(MAX_MESSAGE + 512);
const groups = new Uint16Array(8);

/** The OPT record of an answer (RFC 6891). */
export interface OptRecord {
  udpPayloadSize: number;
  extendedRcode: number;
  options: ReadonlyArray<{ code: number; data: Buffer }>;
}

/** What one answer holds. */
export interface ResponseParts {
  id: number;
  /** Flags without QR (set here). */
  flags: number;
  /**
   * The question: its name as the client spelled it, and its type and class codes; `raw`,
   * when given, is the name's exact bytes from the query, written back as they came.
   */
  question: { name: string; raw?: Buffer; type: number; class: number } | undefined;
  answers: readonly Answer[];
  authorities: readonly Answer[];
  opt: OptRecord | undefined;
}

/** Writes `parts`; if longer than `limit`, writes only header, question and OPT with TC set. */
export function writeResponse(
  parts: ResponseParts,
  limit: number,
): { message: Buffer; truncated: boolean } {
  const writer = sharedWriter;
  let length = 0;
  let truncated = false;
  try {
    length = writer.write(parts, true);
  } catch (error) {
    // Longer than any message can be: only the truncated form can be sent.
    if (!(error instanceof RangeError)) throw error;
    length = Number.POSITIVE_INFINITY;
  }
  if (length > limit) {
    truncated = true;
    length = writer.write({ ...parts, flags: parts.flags | 0x0200 }, false);
  }
  return { message: Buffer.from(scratch.subarray(0, length)), truncated };
}

/** The type code of a type name this writer handles. */
export function typeCode(type: string): number | undefined {
  return TYPE_CODES[type];
}

/** Answers are written one at a time, into `scratch`: one writer serves them all. */
class Writer {
  private offset = 0;
  /** Exact spelling of a name suffix → where it was written. */
  private readonly names = new Map<string, number>();

  write(parts: ResponseParts, withRecords: boolean): number {
    this.names.clear();
    const answers = withRecords ? parts.answers : [];
    const authorities = withRecords ? parts.authorities : [];
    scratch.writeUInt16BE(parts.id, 0);
    scratch.writeUInt16BE(0x8000 | (parts.flags & 0x7fff), 2);
    scratch.writeUInt16BE(parts.question === undefined ? 0 : 1, 4);
    scratch.writeUInt16BE(answers.length, 6);
    scratch.writeUInt16BE(authorities.length, 8);
    scratch.writeUInt16BE(parts.opt === undefined ? 0 : 1, 10);
    this.offset = 12;
    if (parts.question?.raw !== undefined) {
      this.rawName(parts.question.raw, parts.question.name);
      this.u16(parts.question.type);
      this.u16(parts.question.class);
    } else if (parts.question !== undefined) {
      this.name(parts.question.name);
      this.u16(parts.question.type);
      this.u16(parts.question.class);
    }
    for (const record of answers) this.record(record);
    for (const record of authorities) this.record(record);
    if (parts.opt !== undefined) this.opt(parts.opt);
    return this.offset;
  }

  private record(record: Answer): void {
    const data = (record as { data: unknown }).data;
    const code = TYPE_CODES[record.type];
    if (code === undefined) throw new Error(`cannot write ${record.type} records`);
    this.name(record.name);
    this.u16(code);
    this.u16(1); // IN
    this.u32((record as { ttl?: number }).ttl ?? 0);
    const lengthAt = this.offset;
    this.u16(0);
    switch (record.type) {
      case "A":
        this.ipv4(data as string);
        break;
      case "AAAA":
        this.ipv6(data as string);
        break;
      case "CNAME":
      case "NS":
        this.name(data as string);
        break;
      case "MX": {
        const mx = data as { preference: number; exchange: string };
        this.u16(mx.preference);
        this.name(mx.exchange);
        break;
      }
      case "SRV": {
        const srv = data as { priority: number; weight: number; port: number; target: string };
        this.u16(srv.priority);
        this.u16(srv.weight);
        this.u16(srv.port);
        // RFC 2782: the target is not compressed.
        this.name(srv.target, false);
        break;
      }
      case "TXT":
        for (const part of data as Buffer[]) {
          this.check(1 + part.length);
          scratch[this.offset++] = part.length;
          part.copy(scratch, this.offset);
          this.offset += part.length;
        }
        break;
      case "SOA": {
        const soa = data as SoaData;
        this.name(soa.mname);
        this.name(soa.rname);
        this.u32(soa.serial ?? 0);
        this.u32(soa.refresh ?? 0);
        this.u32(soa.retry ?? 0);
        this.u32(soa.expire ?? 0);
        this.u32(soa.minimum ?? 0);
        break;
      }
    }
    scratch.writeUInt16BE(this.offset - lengthAt - 2, lengthAt);
  }

  private opt(opt: OptRecord): void {
    this.check(11);
    scratch[this.offset++] = 0; // the root
    this.u16(41);
    this.u16(opt.udpPayloadSize);
    this.u32((opt.extendedRcode & 0xff) * 0x1000000); // version 0, no flags
    const lengthAt = this.offset;
    this.u16(0);
    for (const option of opt.options) {
      this.u16(option.code);
      this.u16(option.data.length);
      this.check(option.data.length);
      option.data.copy(scratch, this.offset);
      this.offset += option.data.length;
    }
    scratch.writeUInt16BE(this.offset - lengthAt - 2, lengthAt);
  }

  /**
   * Copies an uncompressed wire name, remembering each suffix's spelling for later pointers.
   * `text` is the same name read as latin1 (one character per byte), so its label lengths
   * are the wire's.
   */
  private rawName(raw: Buffer, text: string): void {
    this.check(raw.length);
    let at = this.offset;
    raw.copy(scratch, at);
    this.offset += raw.length;
    let rest = text === "." ? "" : text;
    while (rest !== "" && at < 0x4000) {
      if (!this.names.has(rest)) this.names.set(rest, at);
      const dot = rest.indexOf(".");
      if (dot < 0) break;
      at += dot + 1;
      rest = rest.slice(dot + 1);
    }
  }

  /** Writes a name, pointing at an earlier spelling of its longest known suffix. */
  private name(text: string, compress = true): void {
    const bare = text.endsWith(".") ? text.slice(0, -1) : text;
    let rest = bare;
    while (rest !== "") {
      if (compress) {
        const at = this.names.get(rest);
        if (at !== undefined) {
          this.u16(0xc000 | at);
          return;
        }
        if (this.offset < 0x4000) this.names.set(rest, this.offset);
      }
      const dot = rest.indexOf(".");
      const label = dot < 0 ? rest : rest.slice(0, dot);
      const length = Buffer.byteLength(label, "latin1");
      if (length === 0 || length > 63) throw new Error(`bad label in "${text}"`);
      this.check(1 + length);
      scratch[this.offset++] = length;
      this.offset += scratch.write(label, this.offset, "latin1");
      rest = dot < 0 ? "" : rest.slice(dot + 1);
    }
    this.check(1);
    scratch[this.offset++] = 0;
  }

  private ipv4(text: string): void {
    const value = parseIPv4(text);
    if (value === NOT_IPV4) throw new Error(`not an IPv4 address: ${text}`);
    this.u32(value);
  }

  private ipv6(text: string): void {
    if (!parseIPv6(text, groups)) throw new Error(`not an IPv6 address: ${text}`);
    for (let i = 0; i < 8; i++) this.u16(groups[i]);
  }

  private u16(value: number): void {
    this.check(2);
    scratch.writeUInt16BE(value, this.offset);
    this.offset += 2;
  }

  private u32(value: number): void {
    this.check(4);
    scratch.writeUInt32BE(value >>> 0, this.offset);
    this.offset += 4;
  }

  private check(bytes: number): void {
    if (this.offset + bytes > MAX_MESSAGE) throw new RangeError("answer longer than 65535 bytes");
  }
}

const sharedWriter = new Writer();
