/**
 * Where a client is: its region (the most specific CIDR block holding its address, else the
 * region listing the country or continent a MaxMind database gives for it) and its location
 * (for `closest`), each with the prefix length the finding holds for, which becomes the ECS
 * scope of the answer. Also where a backend is, for `closest` pools.
 */
import type { Coordinates, GeoDatabase, GeoFacts } from "../config/geo-database.js";
import type { RegionConfig } from "../config/schema/index.js";
import {
  type AddressBytes,
  addressBytes,
  addressText,
  familyBytes,
  parseBlock,
  samePrefix,
} from "./address-bytes.js";

/** The region a client falls in, and the prefix length this holds for (undefined: the client's own prefix). */
export interface RegionMatch {
  region: string;
  prefix: number | undefined;
}

/** A client's location and the prefix length it holds for (undefined: the client's own prefix). */
export interface LocationMatch {
  location: Coordinates;
  prefix: number | undefined;
}

/** What the answers of a geo-aware record need to know of clients and backends. */
export interface Places {
  /** The configured location of a region, if any. */
  regionLocation(region: string): Coordinates | undefined;
  /** Where the backend at `host` is: the `locations` entry, else the database's. */
  backendLocation(host: string): Coordinates | undefined;
}

interface Block {
  region: string;
  family: 4 | 6;
  network: Uint8Array;
  prefix: number;
  /** A block of another region lies inside this one: a match holds only for the client's own prefix. */
  holdsOthers: boolean;
}

/** Backend hosts placed are remembered; backends are few, but a bound costs nothing. */
const MAX_PLACED_BACKENDS = 10_000;

/** Compiled `regions:`, `geo_database` and `locations` of a dns listener. */
export class RegionTable implements Places {
  /** Longest blocks first, so the first match is the most specific. */
  private readonly blocks: Block[] = [];
  private readonly byCountry = new Map<string, string>();
  private readonly byContinent = new Map<string, string>();
  private readonly locations = new Map<string, Coordinates>();
  private readonly regionLocations = new Map<string, Coordinates>();
  private readonly placedBackends = new Map<string, Coordinates | undefined>();

  /** Compiles the regions; throws on a bad block. */
  constructor(
    regions: Readonly<Record<string, RegionConfig>>,
    private readonly database?: GeoDatabase,
    locations: Readonly<Record<string, Coordinates>> = {},
  ) {
    for (const [region, config] of Object.entries(regions)) {
      for (const text of config.cidrs) {
        const { address, prefix } = parseBlock(text);
        this.blocks.push({
          region,
          family: address.family,
          network: familyBytes(address),
          prefix,
          holdsOthers: false,
        });
      }
      for (const code of config.countries) this.byCountry.set(code, region);
      for (const code of config.continents) this.byContinent.set(code, region);
      if (config.location !== undefined) this.regionLocations.set(region, config.location);
    }
    this.blocks.sort((a, b) => b.prefix - a.prefix);
    for (const outer of this.blocks) {
      outer.holdsOthers = this.blocks.some(
        (inner) =>
          inner.region !== outer.region &&
          inner.prefix > outer.prefix &&
          inner.family === outer.family &&
          samePrefix(outer.network, inner.network, outer.prefix),
      );
    }
    for (const [text, place] of Object.entries(locations)) {
      const address = parseBlock(text).address;
      this.locations.set(addressText(address), place);
    }
  }

  /** True when no region is defined. */
  get empty(): boolean {
    return this.blocks.length === 0 && this.byCountry.size === 0 && this.byContinent.size === 0;
  }

  /** The most specific region holding `address` (CIDR blocks first, then the database), or undefined. */
  lookup(address: AddressBytes, facts: () => GeoFacts | undefined): RegionMatch | undefined {
    const block = this.blockOf(address);
    if (block !== undefined)
      return { region: block.region, prefix: block.holdsOthers ? undefined : block.prefix };
    if (this.byCountry.size === 0 && this.byContinent.size === 0) return undefined;
    const found = facts();
    if (found === undefined) return undefined;
    const region =
      (found.country === undefined ? undefined : this.byCountry.get(found.country)) ??
      (found.continent === undefined ? undefined : this.byContinent.get(found.continent));
    if (region === undefined) return undefined;
    return { region, prefix: this.databaseScope(address, found.prefix) };
  }

  /**
   * Where the client at `address` is: the location of a region its CIDR block names, else
   * the database's location of the address, else its (database) region's location.
   */
  locate(
    address: AddressBytes,
    region: RegionMatch | undefined,
    facts: () => GeoFacts | undefined,
  ): LocationMatch | undefined {
    const block = this.blockOf(address);
    const blockPlace = block && this.regionLocations.get(block.region);
    if (block !== undefined && blockPlace !== undefined)
      return { location: blockPlace, prefix: block.holdsOthers ? undefined : block.prefix };
    const found = facts();
    if (found?.location !== undefined)
      return { location: found.location, prefix: this.databaseScope(address, found.prefix) };
    const regionPlace = region && this.regionLocations.get(region.region);
    if (region !== undefined && regionPlace !== undefined)
      return { location: regionPlace, prefix: region.prefix };
    return undefined;
  }

  /** What the database says of `address`; undefined without a database or a record. */
  facts(address: AddressBytes): GeoFacts | undefined {
    return this.database?.lookup(addressText(address));
  }

  /** The configured location of `region`. */
  regionLocation(region: string): Coordinates | undefined {
    return this.regionLocations.get(region);
  }

  /** Where the backend at `host` is: its `locations` entry, else the database's location. */
  backendLocation(host: string): Coordinates | undefined {
    if (this.placedBackends.has(host)) return this.placedBackends.get(host);
    const address = addressBytes(host);
    let place: Coordinates | undefined;
    if (address !== undefined) {
      const text = addressText(address);
      place = this.locations.get(text) ?? this.database?.lookup(text)?.location;
    }
    if (this.placedBackends.size >= MAX_PLACED_BACKENDS) this.placedBackends.clear();
    this.placedBackends.set(host, place);
    return place;
  }

  private blockOf(address: AddressBytes): Block | undefined {
    const own = familyBytes(address);
    for (const block of this.blocks) {
      if (block.family === address.family && samePrefix(block.network, own, block.prefix))
        return block;
    }
    return undefined;
  }

  /**
   * The database's network length, unless a configured block lies inside that network:
   * then the finding holds only for the client's own prefix.
   */
  private databaseScope(address: AddressBytes, prefix: number): number | undefined {
    const own = familyBytes(address);
    for (const block of this.blocks) {
      if (
        block.family === address.family &&
        block.prefix > prefix &&
        samePrefix(block.network, own, prefix)
      )
        return undefined;
    }
    return prefix;
  }
}
