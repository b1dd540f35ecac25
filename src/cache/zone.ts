/**
 * A cache zone (nginx's `keys_zone`): one store, the fills in progress, and the counters.
 * Routes name the zone they use; several routes may share one.
 */
import type { CachedResponse } from "./cached-response.js";
import { CacheFill, type FillSink } from "./fill.js";
import { MemoryStore } from "./memory-store.js";
import { type CacheRequest, requestValue } from "./response-rules.js";

/** Size limits of a zone. */
export interface ZoneOptions {
  /** Bytes the store may hold. */
  maxBytes: number;
  /** Largest body stored. */
  maxObjectBytes: number;
}

/** Counters of a zone, for the admin API and metrics. */
export interface CacheCounters {
  /** Answered from the cache while fresh. */
  hits: number;
  /** Answered stale (stale-while-revalidate, stale-if-error, max-stale). */
  stale: number;
  /** Asked the backend: nothing usable was stored. */
  misses: number;
  /** Stored responses confirmed by a 304 from the backend. */
  revalidated: number;
  /** Requests that could not use the cache at all (method, Authorization, Range miss...). */
  bypass: number;
  /** Misses that waited for another request's response instead of asking the backend. */
  coalesced: number;
  /** Responses stored, and their bytes. */
  stores: number;
  storedBytes: number;
  /** Responses evicted to make room. */
  evictions: number;
  /** Responses removed by purges and by unsafe methods. */
  purged: number;
  /** Body bytes sent from the cache. */
  bytesServed: number;
}

/** One zone. */
export class CacheZone implements FillSink {
  readonly counters: CacheCounters = {
    hits: 0,
    stale: 0,
    misses: 0,
    revalidated: 0,
    bypass: 0,
    coalesced: 0,
    stores: 0,
    storedBytes: 0,
    evictions: 0,
    purged: 0,
    bytesServed: 0,
  };
  maxObjectBytes: number;
  private readonly memory: MemoryStore;
  private readonly fills = new Map<string, CacheFill>();

  constructor(
    readonly name: string,
    options: ZoneOptions,
  ) {
    this.maxObjectBytes = options.maxObjectBytes;
    this.memory = new MemoryStore(options.maxBytes, {
      onEvict: () => {
        this.counters.evictions++;
      },
    });
  }

  /** Applies new limits (a reload); the store keeps what still fits. */
  configure(options: ZoneOptions): void {
    this.maxObjectBytes = options.maxObjectBytes;
    this.memory.resize(options.maxBytes);
  }

  /** Bytes and responses held now. */
  usage(): { bytes: number; entries: number; filling: number } {
    return { bytes: this.memory.bytes, entries: this.memory.entries, filling: this.fills.size };
  }

  /** The stored variant that matches the request's Vary fields (RFC 9111 4.1), if any. */
  lookup(key: string, request: CacheRequest): CachedResponse | undefined {
    const variants = this.memory.get(key);
    if (variants === undefined) return undefined;
    for (const entry of variants) {
      if (varyMatches(entry, request)) return entry;
    }
    return undefined;
  }

  /** The fill in progress for a key, to wait on. */
  fillOf(key: string): CacheFill | undefined {
    return this.fills.get(key);
  }

  /** Starts filling a key; later misses of the key wait for it. */
  startFill(
    key: string,
    request: CacheRequest,
    stale: CachedResponse | undefined,
    maxBody = this.maxObjectBytes,
  ): CacheFill {
    const fill = new CacheFill(this, key, request, stale, Math.min(maxBody, this.maxObjectBytes));
    this.fills.set(key, fill);
    return fill;
  }

  /** Removes every response of a key (a purge by URL, an unsafe method); how many. */
  invalidate(key: string): number {
    const removed = this.memory.delete(key);
    this.counters.purged += removed;
    return removed;
  }

  /** Removes every response tagged `tag`; how many. */
  purgeTag(tag: string): number {
    const removed = this.memory.deleteTag(tag);
    this.counters.purged += removed;
    return removed;
  }

  /** Removes everything; how many. */
  purgeAll(): number {
    const removed = this.memory.clear();
    this.counters.purged += removed;
    return removed;
  }

  /** FillSink: a completed response goes into the store. */
  store(key: string, entry: CachedResponse): void {
    if (!this.memory.put(key, entry)) return;
    this.counters.stores++;
    this.counters.storedBytes += entry.body.length;
  }

  /** FillSink: the fill is over; the next miss of its key starts a new one. */
  fillDone(fill: CacheFill): void {
    if (this.fills.get(fill.key) === fill) this.fills.delete(fill.key);
  }
}

/** The cache key of a request: host and target (nginx's `$host$request_uri`). */
export function cacheKeyOf(host: string, url: string): string {
  return `${host}${url}`;
}

function varyMatches(entry: CachedResponse, request: CacheRequest): boolean {
  const names = entry.vary;
  for (let i = 0; i < names.length; i++) {
    if (requestValue(request, names[i]) !== entry.varyValues[i]) return false;
  }
  return true;
}
