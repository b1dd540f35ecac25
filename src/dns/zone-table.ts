/**
 * The zones of a dns listener, compiled for lookups: each owner name (lower case, absolute)
 * maps to its record sets, and the names between the apex and each owner are kept as empty
 * non-terminals, so NXDOMAIN and NODATA are told apart as RFC 8020 asks.
 */
import type { Answer, SoaData } from "dns-packet";
import { absolute, ownerOf } from "../config/schema/dns-checks.js";
import type { DnsRecordConfig, ZoneConfig } from "../config/schema/index.js";

/** Where a record set is: its zone (as configured) and owner name (absolute, lower case). */
interface Placed {
  zone: string;
  owner: string;
}

/** A fixed record set: its records with the owner filled in per answer. */
export interface StaticSet extends Placed {
  kind: "static";
  type: string;
  ttl: number;
  /** Answers without their owner name; `name` is set from the query's spelling. */
  records: Answer[];
}

/** An address set computed per query from pools. */
export interface PoolSet extends Placed {
  kind: "pool";
  type: "A" | "AAAA";
  ttl: number;
  config: Extract<DnsRecordConfig, { type: "A" | "AAAA" }>;
}

export type RecordSet = StaticSet | PoolSet;

/** One name's record sets by type. */
export type NameNode = Map<string, RecordSet>;

/** One compiled zone. */
export class Zone {
  /** The origin as configured ("example.com"). */
  readonly name: string;
  /** Absolute, lower case ("example.com."). */
  readonly origin: string;
  readonly soa: SoaData;
  readonly negativeTtl: number;
  readonly nodes = new Map<string, NameNode>();
  /** Names that exist only because names below them do. */
  readonly emptyNonTerminals = new Set<string>();

  constructor(config: ZoneConfig) {
    this.name = config.origin;
    this.origin = absolute(config.origin);
    const soa = config.soa;
    this.soa = {
      mname: soa.mname ?? config.ns[0],
      rname: soa.rname ?? `hostmaster.${this.origin}`,
      serial: soa.serial,
      refresh: soa.refresh,
      retry: soa.retry,
      expire: soa.expire,
      minimum: soa.minimum,
    };
    this.negativeTtl = Math.min(soa.minimum, config.ttl);
    this.set(this.origin, {
      kind: "static",
      type: "SOA",
      ttl: config.ttl,
      records: [rr("SOA", config.ttl, this.soa)],
    });
    this.set(this.origin, staticSet("NS", config.ttl, config.ns));
    for (const record of config.records) {
      const owner = ownerOf(record.name, this.origin);
      this.set(owner, compile(record, record.ttl ?? config.ttl));
      for (
        let name = parent(owner);
        name !== undefined && name !== this.origin;
        name = parent(name)
      ) {
        if (name.length < this.origin.length) break;
        this.emptyNonTerminals.add(name);
      }
    }
    for (const name of this.nodes.keys()) this.emptyNonTerminals.delete(name);
  }

  /** True when `name` (absolute, lower case) is the origin or below it. */
  holds(name: string): boolean {
    return name === this.origin || name.endsWith(`.${this.origin}`);
  }

  private set(
    owner: string,
    set: Omit<StaticSet, keyof Placed> | Omit<PoolSet, keyof Placed>,
  ): void {
    let node = this.nodes.get(owner);
    if (node === undefined) {
      node = new Map();
      this.nodes.set(owner, node);
    }
    node.set(set.type, { ...set, zone: this.name, owner } as RecordSet);
  }
}

/** All zones of a listener; finds the one that holds a name. */
export class ZoneTable {
  readonly zones: Zone[];
  private readonly byOrigin = new Map<string, Zone>();

  constructor(configs: readonly ZoneConfig[]) {
    this.zones = configs.map((config) => new Zone(config));
    for (const zone of this.zones) this.byOrigin.set(zone.origin, zone);
  }

  /** The most specific zone holding `name` (absolute, lower case), or undefined. */
  find(name: string): Zone | undefined {
    for (
      let candidate: string | undefined = name;
      candidate !== undefined;
      candidate = parent(candidate)
    ) {
      const zone = this.byOrigin.get(candidate);
      if (zone !== undefined) return zone;
    }
    return undefined;
  }
}

/** The name one label up ("www.example.com." → "example.com."), undefined above the root. */
export function parent(name: string): string | undefined {
  if (name === "." || name === "") return undefined;
  const dot = name.indexOf(".");
  const rest = name.slice(dot + 1);
  return rest === "" ? "." : rest;
}

function compile(
  record: DnsRecordConfig,
  ttl: number,
): Omit<StaticSet, keyof Placed> | Omit<PoolSet, keyof Placed> {
  switch (record.type) {
    case "A":
    case "AAAA":
      if (record.values !== undefined && record.values.length > 0) {
        return staticSet(record.type, ttl, record.values);
      }
      return { kind: "pool", type: record.type, ttl, config: record };
    case "CNAME":
      return staticSet("CNAME", ttl, [record.value]);
    case "NS":
      return staticSet("NS", ttl, record.values);
    case "MX":
      return staticSet("MX", ttl, record.values);
    case "SRV":
      return staticSet("SRV", ttl, record.values);
    case "TXT":
      return staticSet("TXT", ttl, record.values.map(txtStrings));
  }
}

function staticSet(
  type: string,
  ttl: number,
  values: readonly unknown[],
): Omit<StaticSet, keyof Placed> {
  return { kind: "static", type, ttl, records: values.map((data) => rr(type, ttl, data)) };
}

function rr(type: string, ttl: number, data: unknown): Answer {
  return { name: "", type, class: "IN", ttl, data } as Answer;
}

/** A TXT value as character-strings of at most 255 bytes (RFC 1035 §3.3.14). */
function txtStrings(text: string): Buffer[] {
  const bytes = Buffer.from(text, "utf8");
  if (bytes.length === 0) return [Buffer.alloc(0)];
  const parts: Buffer[] = [];
  for (let i = 0; i < bytes.length; i += 255) parts.push(bytes.subarray(i, i + 255));
  return parts;
}
