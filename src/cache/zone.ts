/**
 * A cache zone (nginx's `keys_zone`): a memory store, an optional disk store for large
 * bodies, the fills in progress, and the counters (of the zone and of each route using it).
 * Routes name the zone they use; several routes may share one.
 */
import type { CachedResponse, DiskBody } from "./cached-response.js";
import type { DiskHead } from "./disk-file.js";
import { type DiskLoadResult, DiskStore, type DiskStoreOptions } from "./disk-store.js";
import type { DiskWriter } from "./disk-writer.js";
import { CacheFill, type FillSink } from "./fill.js";
import { MemoryStore } from "./memory-store.js";
import {
  type CacheRequest,
  completeResponse,
  requestValue,
  type StorableHead,
} from "./response-rules.js";

/** Size limits of a zone. */
export interface ZoneOptions {
  /** Bytes the store may hold. */
  maxBytes: number;
  /** Largest body stored. */
  maxObjectBytes: number;
  /** Large bodies in files that outlive a restart. */
  disk?: DiskStoreOptions;
}

/** Lookups of one route, for its hit ratio. */
export type RouteCounters = Pick<
  CacheCounters,
  "hits" | "stale" | "misses" | "revalidated" | "bypass" | "coalesced"
>;

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

/** Counters at zero: a new zone's, and the start of a sum over zones or workers. */
export function zeroCacheCounters(): CacheCounters {
  return {
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
}

/** One zone. */
export class CacheZone implements FillSink {
  readonly counters: CacheCounters = zeroCacheCounters();
  maxObjectBytes: number;
  private maxMemoryBytes: number;
  private readonly memory: MemoryStore;
  private disk: DiskStore | undefined;
  /** The disk store's start: its index is rebuilt from the files in the background. */
  diskLoad: Promise<DiskLoadResult> | undefined;
  private readonly fills = new Map<string, CacheFill>();
  private readonly routes = new Map<string, RouteCounters>();
  private readonly onEvict = () => {
    this.counters.evictions++;
  };

  constructor(
    readonly name: string,
    options: ZoneOptions,
  ) {
    this.maxObjectBytes = options.maxObjectBytes;
    this.maxMemoryBytes = options.maxBytes;
    this.memory = new MemoryStore(options.maxBytes, { onEvict: this.onEvict });
    this.configureDisk(options.disk);
  }

  /**
   * Applies new limits (a reload); the stores keep what still fits. A new disk path opens
   * that folder (and loads it); the files of the old one stay where they are.
   */
  configure(options: ZoneOptions): void {
    this.maxObjectBytes = options.maxObjectBytes;
    this.maxMemoryBytes = options.maxBytes;
    this.memory.resize(options.maxBytes);
    this.configureDisk(options.disk);
  }

  private configureDisk(options: DiskStoreOptions | undefined): void {
    const current = this.disk?.options;
    if (options === undefined) {
      this.disk = undefined;
      this.diskLoad = undefined;
      return;
    }
    if (current !== undefined && current.path === options.path) {
      current.minObjectBytes = options.minObjectBytes;
      current.maxBytes = options.maxBytes;
      this.disk!.index.resize(options.maxBytes);
      return;
    }
    const disk = new DiskStore({ ...options }, { onEvict: this.onEvict });
    this.disk = disk;
    this.diskLoad = disk.load();
    // The caller reports the outcome; an unhandled rejection must not end the process.
    this.diskLoad.catch(() => {});
  }

  /** Why the disk store cannot be used, if it cannot. */
  get diskFailure(): string | undefined {
    return this.disk?.failure;
  }

  /** Bytes and responses held now, in memory and on disk. */
  usage(): {
    bytes: number;
    entries: number;
    filling: number;
    diskBytes: number;
    diskEntries: number;
  } {
    return {
      bytes: this.memory.bytes,
      entries: this.memory.entries,
      filling: this.fills.size,
      diskBytes: this.disk?.index.bytes ?? 0,
      diskEntries: this.disk?.index.entries ?? 0,
    };
  }

  /** The counters of one route (by its label), created on first use. */
  routeCounters(route: string): RouteCounters {
    let counters = this.routes.get(route);
    if (counters === undefined) {
      counters = { hits: 0, stale: 0, misses: 0, revalidated: 0, bypass: 0, coalesced: 0 };
      this.routes.set(route, counters);
    }
    return counters;
  }

  /** Every route's counters, by label. */
  routeCountersAll(): ReadonlyMap<string, RouteCounters> {
    return this.routes;
  }

  /** The stored variant that matches the request's Vary fields (RFC 9111 4.1), if any. */
  lookup(key: string, request: CacheRequest): CachedResponse | undefined {
    const variants = this.memory.get(key);
    if (variants !== undefined) {
      for (const entry of variants) {
        if (varyMatches(entry, request)) return entry;
      }
    }
    const onDisk = this.disk?.index.get(key);
    if (onDisk === undefined) return undefined;
    for (const entry of onDisk) {
      if (varyMatches(entry, request)) return entry;
    }
    return undefined;
  }

  /** Removes a stored response that turned out unusable (its file gone or corrupt). */
  drop(key: string, entry: CachedResponse): void {
    if (Buffer.isBuffer(entry.body)) this.memory.remove(key, entry);
    else this.disk?.index.remove(key, entry);
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
    const removed = this.memory.delete(key) + (this.disk?.index.delete(key) ?? 0);
    this.counters.purged += removed;
    return removed;
  }

  /** Removes every response tagged `tag`; how many. */
  purgeTag(tag: string): number {
    const removed = this.memory.deleteTag(tag) + (this.disk?.index.deleteTag(tag) ?? 0);
    this.counters.purged += removed;
    return removed;
  }

  /** Removes everything; how many. */
  purgeAll(): number {
    const removed = this.memory.clear() + (this.disk?.index.clear() ?? 0);
    this.counters.purged += removed;
    return removed;
  }

  /** The zone leaves the config: memory is freed; files on disk stay for the operator. */
  detach(): void {
    this.counters.purged += this.memory.clear();
    this.disk = undefined;
    this.diskLoad = undefined;
  }

  /** FillSink: a completed response goes into the store. */
  store(key: string, entry: CachedResponse): void {
    const disk = this.disk;
    if (Buffer.isBuffer(entry.body)) {
      // A variant that moved from disk to memory must not be found in the old place.
      disk?.index.removeVariant(key, entry);
      if (!this.memory.put(key, entry)) return;
    } else {
      // A refreshed disk response (304): same file, new head.
      if (disk === undefined || !disk.put(key, entry)) return;
    }
    this.counters.stores++;
    this.counters.storedBytes += entry.bodyLength;
  }

  /** FillSink: bodies may grow in memory up to the memory store's bound. */
  get memoryLimit(): number {
    return this.maxMemoryBytes;
  }

  /** FillSink: true when a body this long goes to the disk store. */
  wantsDisk(length: number): boolean {
    return this.disk?.wants(length) ?? false;
  }

  /** FillSink: a temp file of the disk store. */
  startDiskWrite(key: string): DiskWriter | undefined {
    return this.disk?.startWrite(key);
  }

  /** FillSink: finishes a file (head, close, rename) and indexes it. */
  async storeFromDisk(key: string, head: StorableHead, writer: DiskWriter): Promise<boolean> {
    const disk = this.disk;
    const length = writer.length;
    let sha256 = "";
    let fileSize: number;
    try {
      fileSize = await writer.finish((bodySha256) => {
        sha256 = bodySha256;
        return diskHeadOf(key, completeResponse(head, Buffer.alloc(0), length), bodySha256);
      });
      // The zone may have lost (or changed) its disk store while the body streamed.
      if (disk === undefined || disk !== this.disk) throw new Error("disk store gone");
      await disk.place(writer);
    } catch {
      writer.discard();
      return false;
    }
    const body: DiskBody = { file: writer.finalPath, sha256, verified: true };
    const entry = completeResponse(head, body, length, fileSize);
    this.memory.removeVariant(key, entry);
    if (!disk.put(key, entry)) return false;
    this.counters.stores++;
    this.counters.storedBytes += length;
    return true;
  }

  /** FillSink: the fill is over; the next miss of its key starts a new one. */
  fillDone(fill: CacheFill): void {
    if (this.fills.get(fill.key) === fill) this.fills.delete(fill.key);
  }
}

/** The head written after a body on disk. */
function diskHeadOf(key: string, entry: CachedResponse, bodySha256: string): DiskHead {
  return {
    key,
    status: entry.status,
    statusText: entry.statusText,
    headers: entry.headers,
    bornAt: entry.bornAt,
    lifetime: entry.lifetime,
    vary: [...entry.vary],
    varyValues: entry.varyValues.map((value) => value ?? null),
    tags: [...entry.tags],
    mustRevalidate: entry.mustRevalidate,
    staleWhileRevalidate: entry.staleWhileRevalidate,
    staleIfError: entry.staleIfError,
    bodyLength: entry.bodyLength,
    bodySha256,
  };
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
