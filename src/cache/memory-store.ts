/**
 * The memory store: responses by primary key (host and target), each key holding its
 * variants (RFC 9111 4.1, Vary), bounded in bytes with least-recently-used eviction, and an
 * index from purge tag to keys. The disk store uses it as its index (its entries' bodies
 * are files, their sizes the files' sizes).
 */
import type { CachedResponse } from "./cached-response.js";

/** What the store reports to its zone's counters. */
export interface StoreEvents {
  onEvict(entry: CachedResponse): void;
  /** Every response that leaves the store (evicted, replaced, removed, purged). */
  onRemove?(entry: CachedResponse): void;
}

/** A key's variants, most recently stored first. */
type Variants = CachedResponse[];

/** An LRU store bounded in bytes. */
export class MemoryStore {
  /** Map order is the LRU order: the first key is the least recently used. */
  private readonly keys = new Map<string, Variants>();
  private readonly tags = new Map<string, Set<string>>();
  private used = 0;
  /**
   * The key last moved to the end of `keys` (or since removed: only put() adds keys, and it
   * sets this), so get() of the most recently used key need not move it again.
   */
  private newest: string | undefined;

  constructor(
    private maxBytes: number,
    private readonly events: StoreEvents,
  ) {}

  /** Bytes held. */
  get bytes(): number {
    return this.used;
  }

  /** Stored responses (all variants). */
  get entries(): number {
    let count = 0;
    for (const variants of this.keys.values()) count += variants.length;
    return count;
  }

  /** Changes the bound; evicts at once when it shrank. */
  resize(maxBytes: number): void {
    this.maxBytes = maxBytes;
    this.evict();
  }

  /** The variants of a key, marked as recently used; undefined when none. */
  get(key: string): readonly CachedResponse[] | undefined {
    const variants = this.keys.get(key);
    if (variants === undefined) return undefined;
    // Moving a key to the end of the Map is what makes it recently used; a key that is
    // there already (the same URL hit again and again) stays where it is.
    if (key !== this.newest) {
      this.keys.delete(key);
      this.keys.set(key, variants);
      this.newest = key;
    }
    return variants;
  }

  /** The variants of a key without marking it used (the disk store's loader). */
  peek(key: string): readonly CachedResponse[] | undefined {
    return this.keys.get(key);
  }

  /**
   * Stores a response, replacing the variant with the same secondary key (RFC 9111 4.1), then
   * evicts least recently used keys until the store fits. A response larger than the whole
   * store is not stored.
   */
  put(key: string, entry: CachedResponse): boolean {
    if (entry.size > this.maxBytes) return false;
    let variants = this.keys.get(key);
    if (variants === undefined) variants = [];
    else this.keys.delete(key);
    const same = variants.findIndex((v) => sameSecondaryKey(v, entry));
    if (same >= 0) {
      this.used -= variants[same].size;
      const [replaced] = variants.splice(same, 1);
      if (replaced !== entry) this.events.onRemove?.(replaced);
    }
    variants.unshift(entry);
    this.keys.set(key, variants);
    this.newest = key;
    this.used += entry.size;
    for (const tag of entry.tags) {
      const keys = this.tags.get(tag);
      if (keys === undefined) this.tags.set(tag, new Set([key]));
      else keys.add(key);
    }
    this.evict(key);
    return true;
  }

  /** Removes one stored variant (one that turned out unusable). */
  remove(key: string, entry: CachedResponse): void {
    const variants = this.keys.get(key);
    const index = variants?.indexOf(entry) ?? -1;
    if (variants === undefined || index < 0) return;
    variants.splice(index, 1);
    this.used -= entry.size;
    this.events.onRemove?.(entry);
    if (variants.length === 0) this.deleteKey(key);
  }

  /** Removes the variant of `key` that `entry` would replace, if one is stored. */
  removeVariant(key: string, entry: CachedResponse): void {
    const stored = this.keys.get(key)?.find((other) => sameSecondaryKey(other, entry));
    if (stored !== undefined) this.remove(key, stored);
  }

  /** Removes every variant of a key; the number of responses removed. */
  delete(key: string): number {
    const variants = this.keys.get(key);
    if (variants === undefined) return 0;
    for (const entry of variants) {
      this.used -= entry.size;
      this.events.onRemove?.(entry);
    }
    this.deleteKey(key);
    return variants.length;
  }

  /** Removes every key one of whose responses carries the tag; the number removed. */
  deleteTag(tag: string): number {
    const keys = this.tags.get(tag);
    if (keys === undefined) return 0;
    let removed = 0;
    for (const key of [...keys]) removed += this.delete(key);
    this.tags.delete(tag);
    return removed;
  }

  /** Removes everything; the number of responses removed. */
  clear(): number {
    const removed = this.entries;
    if (this.events.onRemove !== undefined) {
      for (const variants of this.keys.values())
        for (const entry of variants) this.events.onRemove(entry);
    }
    this.keys.clear();
    this.tags.clear();
    this.used = 0;
    return removed;
  }

  private deleteKey(key: string): void {
    const variants = this.keys.get(key);
    this.keys.delete(key);
    if (variants === undefined) return;
    for (const entry of variants) {
      for (const tag of entry.tags) {
        const keys = this.tags.get(tag);
        if (keys === undefined) continue;
        // The key may hold another variant with the same tag: it is gone too.
        keys.delete(key);
        if (keys.size === 0) this.tags.delete(tag);
      }
    }
  }

  /** Evicts least recently used keys (never `keep`, the one just stored) until it fits. */
  private evict(keep?: string): void {
    if (this.used <= this.maxBytes) return;
    for (const [key, variants] of this.keys) {
      if (this.used <= this.maxBytes) return;
      if (key === keep) continue;
      this.deleteKey(key);
      for (const entry of variants) {
        this.used -= entry.size;
        this.events.onEvict(entry);
        this.events.onRemove?.(entry);
      }
    }
    // Only the newest key is left and still too big: its older variants go.
    const variants = keep === undefined ? undefined : this.keys.get(keep);
    while (variants !== undefined && variants.length > 1 && this.used > this.maxBytes) {
      const entry = variants.pop()!;
      this.used -= entry.size;
      this.events.onEvict(entry);
      this.events.onRemove?.(entry);
    }
  }
}

/** True when two responses of one key are the same variant (equal Vary names and values). */
export function sameSecondaryKey(a: CachedResponse, b: CachedResponse): boolean {
  if (a.vary.length !== b.vary.length) return false;
  for (let i = 0; i < a.vary.length; i++) {
    if (a.vary[i] !== b.vary[i] || a.varyValues[i] !== b.varyValues[i]) return false;
  }
  return true;
}
