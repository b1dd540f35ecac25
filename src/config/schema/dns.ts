/** The `protocol: dns` listener: authoritative zones, records backed by pools, regions, RRL. */
import { isIPv4, isIPv6 } from "node:net";
import { z } from "zod";
import { loadGeoDatabase } from "../geo-database.js";
import { cidr, positiveDuration } from "./common.js";

const LABEL = /^(?:\*|[A-Za-z0-9_](?:[A-Za-z0-9_-]{0,61}[A-Za-z0-9_])?)$/;

/** True for a domain name of valid labels (1-63 letters, digits, `-`, `_`; `*` as a label). */
function isDomainName(text: string): boolean {
  const bare = text.endsWith(".") ? text.slice(0, -1) : text;
  if (bare === "" || bare.length > 253) return false;
  return bare.split(".").every((label) => LABEL.test(label));
}

/** A domain name such as "example.com" or "ns1.example.com." (the final dot is optional). */
export const domainName = z
  .string()
  .refine(isDomainName, 'expected a domain name such as "www.example.com"');

/** A record's owner: "@" for the zone's origin, a name relative to it, or an absolute name ending in ".". */
const ownerName = z
  .string()
  .refine(
    (text) => text === "@" || isDomainName(text),
    'expected "@", a name inside the zone such as "www", or an absolute name ending in "."',
  );

const ttl = z.number().int().min(0).max(2_147_483_647);

const ipv4 = z
  .string()
  .refine((text) => isIPv4(text), 'expected an IPv4 address such as "192.0.2.1"');
const ipv6 = z
  .string()
  .refine((text) => isIPv6(text), 'expected an IPv6 address such as "2001:db8::1"');

/** What a pool-backed record answers when none of its pools has a backend up. */
export const whenAllDownSchema = z.union([
  /** `all`: every enabled backend of the first pool, as PowerDNS `ifportup` and Route 53 do. */
  z.literal("all"),
  /** `servfail`: let resolvers try elsewhere or keep their stale answer. */
  z.literal("servfail"),
  /** Answer from this pool instead (its own health applies). */
  z.strictObject({ pool: z.string().min(1) }),
  /** Answer a CNAME to a sorry host. */
  z.strictObject({ cname: domainName }),
]);

/** The parts of an address record that come from pools rather than fixed values. */
const poolBacked = {
  /** Answer the up backends of this pool (their hosts must be addresses of the record's family). */
  pool: z.string().min(1).optional(),
  /** Region name (or `default`) → pools by preference, nearest first; failover runs down the list. */
  geo: z.record(z.string().min(1), z.array(z.string().min(1)).min(1)).optional(),
  /** How many addresses one answer holds (Route 53 multivalue answers up to 8). */
  answers: z.number().int().min(1).max(64).default(1),
  when_all_down: whenAllDownSchema.default("all"),
  /**
   * Nearest first by great-circle distance from the client's location (PowerDNS
   * `pickclosest`, Route 53 geoproximity): `pool` orders its up backends by their
   * `locations`; `geo` orders its regions by their `location`.
   */
  closest: z.boolean().default(false),
};

const base = { name: ownerName, ttl: ttl.optional() };

const addressRecord = <T extends "A" | "AAAA">(type: T, address: z.ZodTypeAny) =>
  z
    .strictObject({
      ...base,
      type: z.literal(type),
      values: z.array(address).optional(),
      ...poolBacked,
    })
    .refine(
      (r) =>
        [
          r.values !== undefined && r.values.length > 0,
          r.pool !== undefined,
          r.geo !== undefined,
        ].filter(Boolean).length === 1,
      { message: `an ${type} record needs exactly one of \`values\`, \`pool\` or \`geo\`` },
    );

export const dnsRecordSchema = z.union([
  addressRecord("A", ipv4),
  addressRecord("AAAA", ipv6),
  z.strictObject({ ...base, type: z.literal("CNAME"), value: domainName }),
  z.strictObject({ ...base, type: z.literal("NS"), values: z.array(domainName).min(1) }),
  z.strictObject({
    ...base,
    type: z.literal("MX"),
    values: z
      .array(
        z.strictObject({ preference: z.number().int().min(0).max(65535), exchange: domainName }),
      )
      .min(1),
  }),
  z.strictObject({
    ...base,
    type: z.literal("TXT"),
    /** Each value is one record; text longer than 255 bytes is split into strings of 255. */
    values: z.array(z.string().max(4000)).min(1),
  }),
  z.strictObject({
    ...base,
    type: z.literal("SRV"),
    values: z
      .array(
        z.strictObject({
          priority: z.number().int().min(0).max(65535),
          weight: z.number().int().min(0).max(65535),
          port: z.number().int().min(0).max(65535),
          target: domainName,
        }),
      )
      .min(1),
  }),
]);

export const soaSchema = z.strictObject({
  /** The primary name server; the zone's first `ns` when unset. */
  mname: domainName.optional(),
  /** The hostmaster's mailbox as a name ("hostmaster.example.com"). */
  rname: domainName.optional(),
  serial: z.number().int().min(0).max(4_294_967_295).default(1),
  refresh: ttl.default(3600),
  retry: ttl.default(600),
  expire: ttl.default(604_800),
  /** The negative-caching TTL (RFC 2308): how long NXDOMAIN and NODATA are cached. */
  minimum: ttl.default(60),
});

export const zoneSchema = z.strictObject({
  /** The zone's apex, such as "example.com". */
  origin: domainName,
  /** TTL of records that set none. */
  ttl: ttl.default(300),
  /** The zone's name servers (the apex NS records). */
  ns: z.array(domainName).min(1),
  soa: soaSchema.prefault({}),
  records: z.array(dnsRecordSchema).default([]),
});

export const responseRateLimitSchema = z.strictObject({
  /** Answers per second to one client subnet, as BIND's `responses-per-second`; 0 = off. */
  responses_per_second: z.number().min(0).default(0),
  /** Of the answers over the limit, one in `slip` goes out truncated (TC) so real clients retry over TCP; 0 drops all. */
  slip: z.number().int().min(0).max(10).default(2),
  /** Clients are grouped by these prefixes (BIND `ipv4-prefix-length`, `ipv6-prefix-length`). */
  ipv4_prefix: z.number().int().min(8).max(32).default(24),
  ipv6_prefix: z.number().int().min(16).max(128).default(56),
});

/** A point on the earth in degrees (WGS 84, as MaxMind's databases give it). */
export const coordinatesSchema = z.strictObject({
  latitude: z.number().min(-90).max(90),
  longitude: z.number().min(-180).max(180),
});

const CONTINENTS = ["AF", "AN", "AS", "EU", "NA", "OC", "SA"] as const;

const countryCode = z
  .string()
  .regex(/^[A-Za-z]{2}$/, 'expected an ISO 3166-1 country code such as "DE" or "US"')
  .transform((code) => code.toUpperCase());

const continentCode = z
  .string()
  .transform((code) => code.toUpperCase())
  .pipe(z.enum(CONTINENTS, { message: `expected a continent code: ${CONTINENTS.join(", ")}` }));

/**
 * A region: a list of CIDR blocks, or blocks, countries and continents (looked up in the
 * listener's `geo_database`) and where the region is (for `closest`).
 */
export const regionSchema = z.union([
  z
    .array(cidr)
    .min(1)
    .transform(
      (cidrs): RegionConfig => ({ cidrs, countries: [], continents: [], location: undefined }),
    ),
  z
    .strictObject({
      cidrs: z.array(cidr).default([]),
      countries: z.array(countryCode).default([]),
      continents: z.array(continentCode).default([]),
      location: coordinatesSchema.optional(),
    })
    .refine(
      (r) =>
        r.cidrs.length + r.countries.length + r.continents.length > 0 || r.location !== undefined,
      { message: "a region needs cidrs, countries, continents or a location" },
    )
    .transform((r): RegionConfig => ({ ...r, location: r.location })),
]);

/** A MaxMind-format database file, read and checked at every load (see ../geo-database.ts). */
export const geoDatabaseSchema = z
  .string()
  .min(1)
  .transform((path, ctx) => {
    const result = loadGeoDatabase(path);
    if (result.problem !== undefined) {
      ctx.addIssue({ code: "custom", message: result.problem });
      return z.NEVER;
    }
    return result.database;
  });

const ipAddress = z
  .string()
  .refine((text) => isIPv4(text) || isIPv6(text), 'expected an IP address such as "192.0.2.10"');

export const dnsListenerFields = {
  protocol: z.literal("dns"),
  zones: z.array(zoneSchema).min(1),
  /** Region name → its clients (ECS subnet, else the resolver's address): CIDR blocks, countries, continents. */
  regions: z.record(z.string().min(1), regionSchema).default({}),
  /** A MaxMind-format database (GeoLite2/GeoIP2 Country or City) that places clients. */
  geo_database: geoDatabaseSchema.optional(),
  /** Backend address → where it is, for `closest` records (else the database places it). */
  locations: z.record(ipAddress, coordinatesSchema).default({}),
  rate_limit: responseRateLimitSchema.optional(),
  /** Largest UDP answer sent, whatever the client advertises (1232 is the DNS flag day 2020 value). */
  max_udp_payload: z.number().int().min(512).max(65_535).default(1232),
  /** A TCP connection idle this long is closed (RFC 7766). */
  tcp_idle: positiveDuration.default(10_000),
  /** Most TCP connections open at once. */
  max_tcp_connections: z.number().int().min(1).default(1024),
};

export type DnsRecordConfig = z.infer<typeof dnsRecordSchema>;
export type ZoneConfig = z.infer<typeof zoneSchema>;
export type WhenAllDownConfig = z.infer<typeof whenAllDownSchema>;
export type CoordinatesConfig = z.infer<typeof coordinatesSchema>;
/** One region as compiled: its blocks, countries and continents (upper case), and where it is. */
export interface RegionConfig {
  cidrs: string[];
  countries: string[];
  continents: string[];
  location: CoordinatesConfig | undefined;
}
export type ResponseRateLimitConfig = z.infer<typeof responseRateLimitSchema>;
