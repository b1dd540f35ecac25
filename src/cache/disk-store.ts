/**
 * The disk store of a zone (nginx's `proxy_cache_path`): large responses in files that
 * outlive a restart. An index in memory (a MemoryStore whose entries' bodies are files) is
 * rebuilt at start from the files' own heads, bounded in bytes with least-recently-used
 * eviction; a file leaves the disk when its entry leaves the index.
 *
 * Files are written under `tmp/` and renamed into place when complete, so a crash leaves a
 * temp file (removed at the next start), never a half file under a real name. Every file has
 * its own name: a replacement never changes the bytes under a reader of the old one.
 */
import { createHash, randomBytes } from "node:crypto";
import { mkdirSync } from "node:fs";
import { mkdir, readdir, rename, stat, unlink } from "node:fs/promises";
import { join } from "node:path";
import { type CachedResponse, type DiskBody, fieldOf } from "./cached-response.js";
import { readDiskHead } from "./disk-file.js";
import { DiskWriter } from "./disk-writer.js";
import { MemoryStore, type StoreEvents, sameSecondaryKey } from "./memory-store.js";

/** Where and how much. */
export interface DiskStoreOptions {
  /** The folder; created when missing. */
  path: string;
  /** Bytes of files held; least recently used go first beyond it. */
  maxBytes: number;
  /** Bodies at least this long are stored on disk; 0 stores every body there. */
  minObjectBytes: number;
}

/** What the start found. */
export interface DiskLoadResult {
  /** Files indexed. */
  loaded: number;
  /** Files that were not whole responses (truncated, corrupt) and were removed. */
  dropped: number;
  /** Temp files of earlier processes removed. */
  temps: number;
}

const TEMP = "tmp";
/** Two hex digits: the subfolder of a file (nginx's `levels=2`), so no folder grows huge. */
const SUBFOLDER = /^[0-9a-f]{2}$/;

/** One zone's files and their index. */
export class DiskStore {
  readonly index: MemoryStore;
  /** The entry each file belongs to: a file is removed only with its own entry. */
  private readonly files = new Map<string, CachedResponse>();
  /** Entries stored by this process (the loader never replaces them with older files). */
  private readonly storedHere = new WeakSet<CachedResponse>();
  private readonly tempFolder: string;
  private readonly madeFolders = new Set<string>();
  private sequence = 0;
  /** Why the store cannot be used (a folder that cannot be created); undefined when usable. */
  failure: string | undefined;

  constructor(
    readonly options: DiskStoreOptions,
    events: StoreEvents,
  ) {
    this.index = new MemoryStore(options.maxBytes, {
      onEvict: (entry) => events.onEvict(entry),
      onRemove: (entry) => this.forget(entry),
    });
    this.tempFolder = join(options.path, TEMP);
    try {
      // At config time, once: a path that cannot be created is reported with the zone.
      mkdirSync(this.tempFolder, { recursive: true, mode: 0o700 });
    } catch (error) {
      this.failure = (error as Error).message;
    }
  }

  /** True when a body of `length` bytes belongs on disk. */
  wants(length: number): boolean {
    return this.failure === undefined && length >= this.options.minObjectBytes;
  }

  /** A writer for a new file of `key`, or undefined when the temp file cannot be created. */
  startWrite(key: string): DiskWriter | undefined {
    if (this.failure !== undefined) return undefined;
    const temp = join(this.tempFolder, `${process.pid}-${++this.sequence}.tmp`);
    const name = `${createHash("sha256").update(key).digest("hex").slice(0, 32)}-${randomBytes(6).toString("hex")}`;
    try {
      return new DiskWriter(temp, join(this.options.path, name.slice(0, 2), name));
    } catch {
      return undefined;
    }
  }

  /** Moves a finished temp file to its name; the caller then `put`s its entry. */
  async place(writer: DiskWriter): Promise<void> {
    const folder = join(writer.finalPath, "..");
    if (!this.madeFolders.has(folder)) {
      await mkdir(folder, { recursive: true, mode: 0o700 });
      this.madeFolders.add(folder);
    }
    await rename(writer.tempPath, writer.finalPath);
  }

  /** Indexes a placed file's entry; false (and the file removed) when it cannot be held. */
  put(key: string, entry: CachedResponse): boolean {
    const file = fileOf(entry);
    // Registered before the index sees it: a replaced variant's file is another file.
    this.files.set(file, entry);
    this.storedHere.add(entry);
    if (this.index.put(key, entry)) return true;
    this.forget(entry);
    return false;
  }

  /**
   * Rebuilds the index from the folder: removes temp files of processes that are gone,
   * reads each file's head (oldest first, so least recently written is evicted first) and
   * removes files that are not whole.
   */
  async load(): Promise<DiskLoadResult> {
    const result: DiskLoadResult = { loaded: 0, dropped: 0, temps: 0 };
    if (this.failure !== undefined) return result;
    result.temps = await this.removeDeadTemps();
    const found: { file: string; mtime: number }[] = [];
    for (const folder of await readdir(this.options.path)) {
      if (!SUBFOLDER.test(folder)) continue;
      const path = join(this.options.path, folder);
      let names: string[];
      try {
        names = await readdir(path);
      } catch {
        continue;
      }
      for (const name of names) {
        const file = join(path, name);
        try {
          found.push({ file, mtime: (await stat(file)).mtimeMs });
        } catch {
          // Removed meanwhile (another worker's eviction).
        }
      }
    }
    found.sort((a, b) => a.mtime - b.mtime);
    for (const { file } of found) {
      if (this.files.has(file)) continue;
      const read = await readDiskHead(file).catch((error: Error) => error.message);
      if (typeof read === "string") {
        result.dropped++;
        await unlink(file).catch(() => {});
        continue;
      }
      const { head, fileSize } = read;
      const entry: CachedResponse = {
        status: head.status,
        statusText: head.statusText,
        headers: head.headers,
        body: { file, sha256: head.bodySha256, verified: false },
        bodyLength: head.bodyLength,
        bornAt: head.bornAt,
        lifetime: head.lifetime,
        vary: head.vary,
        varyValues: head.varyValues.map((value) => value ?? undefined),
        tags: head.tags,
        mustRevalidate: head.mustRevalidate,
        staleWhileRevalidate: head.staleWhileRevalidate,
        staleIfError: head.staleIfError,
        etag: fieldOf(head.headers, "etag"),
        lastModified: fieldOf(head.headers, "last-modified"),
        size: fileSize,
      };
      const current = this.index.peek(head.key)?.find((other) => sameSecondaryKey(other, entry));
      if (current !== undefined && this.storedHere.has(current)) {
        // A newer response was stored since the start: this file is outdated.
        await unlink(file).catch(() => {});
        continue;
      }
      this.files.set(file, entry);
      if (this.index.put(head.key, entry)) result.loaded++;
      else this.forget(entry);
    }
    return result;
  }

  /** An entry left the index: its file goes, unless it was already handed to a newer one. */
  private forget(entry: CachedResponse): void {
    const file = fileOf(entry);
    if (this.files.get(file) !== entry) return;
    this.files.delete(file);
    // A reader that opened the file keeps reading it; later opens find nothing (a miss).
    unlink(file).catch(() => {});
  }

  /** Removes temp files whose process is gone (a crash mid-write); how many. */
  private async removeDeadTemps(): Promise<number> {
    let removed = 0;
    for (const name of await readdir(this.tempFolder).catch(() => [] as string[])) {
      const pid = Number(name.split("-")[0]);
      if (pid === process.pid || (Number.isInteger(pid) && isAlive(pid))) continue;
      await unlink(join(this.tempFolder, name)).catch(() => {});
      removed++;
    }
    return removed;
  }
}

function fileOf(entry: CachedResponse): string {
  return (entry.body as DiskBody).file;
}

function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    // EPERM: it exists, owned by someone else.
    return (error as NodeJS.ErrnoException).code === "EPERM";
  }
}
