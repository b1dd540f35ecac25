/** Regions as CIDR lists: the longest block holding a client's address names its region. */
import { type AddressBytes, familyBytes, parseBlock, samePrefix } from "./address-bytes.js";

/** The region a client address falls in, and the length of the block that matched. */
export interface RegionMatch {
  region: string;
  prefix: number;
}

interface Block {
  region: string;
  family: 4 | 6;
  network: Uint8Array;
  prefix: number;
}

/** Compiled `regions:` of a dns listener. */
export class RegionTable {
  /** Longest blocks first, so the first match is the most specific. */
  private readonly blocks: Block[];

  /** Compiles region name → CIDR blocks; throws on a bad block. */
  constructor(regions: Record<string, readonly string[]>) {
    this.blocks = [];
    for (const [region, list] of Object.entries(regions)) {
      for (const text of list) {
        const { address, prefix } = parseBlock(text);
        this.blocks.push({ region, family: address.family, network: familyBytes(address), prefix });
      }
    }
    this.blocks.sort((a, b) => b.prefix - a.prefix);
  }

  /** True when no region is defined. */
  get empty(): boolean {
    return this.blocks.length === 0;
  }

  /** The most specific region holding `address`, or undefined. */
  lookup(address: AddressBytes): RegionMatch | undefined {
    const own = familyBytes(address);
    for (const block of this.blocks) {
      if (block.family === address.family && samePrefix(block.network, own, block.prefix)) {
        return { region: block.region, prefix: block.prefix };
      }
    }
    return undefined;
  }
}
