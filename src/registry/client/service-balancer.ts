/**
 * One service balanced in the client's own process: a ballast Pool (p2c by default) kept in
 * step with the registry by a watch, instances of the client's zone first (others are
 * backups), and a snapshot that outlives registry outages: in memory always, on disk when
 * `snapshotFile` is set, so a restart with no registry still knows where to go.
 */
import { readFileSync, renameSync, writeFileSync } from "node:fs";
import type { BackendSpec } from "../../pool/backend.js";
import { Pool } from "../../pool/pool.js";
import type { Selection, SelectRequest } from "../../pool/selection.js";
import { type RegistryEndpoint, ServiceWatch } from "./watch.js";
import type { InstanceView } from "./wire.js";

export interface ServiceBalancerOptions extends RegistryEndpoint {
  /** A pool algorithm: "p2c" (default), "ewma" (peak EWMA), "wrr", "lc", ... */
  algorithm?: "p2c" | "ewma" | "wrr" | "rr" | "lc" | "wlc" | "random" | "wrandom";
  /** The client's zone: instances of other zones serve only when none of this zone can. */
  zone?: string;
  /** Where to keep the last list, read at start when the registry cannot be reached. */
  snapshotFile?: string;
  /** An empty list right after (re)connecting is believed only after this long (ms; 10 s). */
  emptyGraceMs?: number;
  /** A stream silent for this long is reopened (ms). */
  idleTimeoutMs?: number;
  onError?: (error: Error) => void;
}

interface SnapshotFile {
  service: string;
  index: number;
  savedAt: number;
  instances: InstanceView[];
}

/** A service's instances as a pool, following the registry; see the file's comment. */
export class ServiceBalancer {
  readonly pool: Pool;
  private readonly watch: ServiceWatch;
  private emptyTimer: NodeJS.Timeout | undefined;
  private readyResolve!: () => void;
  private readonly changeListeners: (() => void)[] = [];
  /** Settles once the pool has had a list (from the registry or the snapshot file). */
  readonly ready: Promise<void>;

  constructor(
    readonly service: string,
    private readonly options: ServiceBalancerOptions,
  ) {
    this.pool = new Pool(service, [], { algorithm: options.algorithm ?? "p2c" });
    this.ready = new Promise((resolve) => {
      this.readyResolve = resolve;
    });
    const saved = this.readSnapshotFile();
    if (saved !== undefined && saved.instances.length > 0) {
      this.apply(saved.instances);
      this.readyResolve();
    }
    this.watch = new ServiceWatch(service, {
      registry: options.registry,
      token: options.token,
      idleTimeoutMs: options.idleTimeoutMs,
      onError: options.onError,
      onUpdate: (instances, index) => this.update(instances, index),
    });
  }

  /** Starts choosing instances for one call: see Pool.select. */
  select(request?: SelectRequest): Selection {
    return this.pool.select(request);
  }

  /** Hears every change of the pool's membership (the grpc-js resolver reports it on). */
  onChange(listener: () => void): () => void {
    this.changeListeners.push(listener);
    return () => {
      const at = this.changeListeners.indexOf(listener);
      if (at >= 0) this.changeListeners.splice(at, 1);
    };
  }

  /** Instances that take new calls now (draining ones, on their way out, are left out). */
  serving(): { id: string; host: string; port: number }[] {
    return this.pool.backends
      .filter((b) => !b.draining)
      .map((b) => ({ id: b.id, host: b.host, port: b.port }));
  }

  /** True while the watch has an open stream to a registry. */
  get connected(): boolean {
    return this.watch.connected;
  }

  /** Stops watching; the pool keeps its last list. */
  close(): void {
    clearTimeout(this.emptyTimer);
    this.watch.close();
    this.pool.close();
  }

  private update(instances: InstanceView[], index: number): void {
    if (instances.length === 0 && this.pool.size > 0) {
      // A registry that restarted empty, or one behind a partition, would make every client
      // forget every instance at once; the instances re-register within a heartbeat or two.
      this.emptyTimer ??= setTimeout(() => {
        this.emptyTimer = undefined;
        if (this.watch.list().length === 0) this.apply([]);
      }, this.options.emptyGraceMs ?? 10_000);
      this.emptyTimer.unref();
      return;
    }
    clearTimeout(this.emptyTimer);
    this.emptyTimer = undefined;
    this.apply(instances);
    this.readyResolve();
    this.writeSnapshotFile(instances, index);
  }

  /** Makes the pool's membership match `instances`, keeping the state of those that stay. */
  private apply(instances: InstanceView[]): void {
    const seen = new Set<string>();
    for (const instance of instances) {
      seen.add(instance.id);
      const spec: BackendSpec = {
        id: instance.id,
        host: instance.host,
        port: instance.port,
        weight: instance.weight,
        backup: this.options.zone !== undefined && instance.zone !== this.options.zone,
        source: "discovery",
      };
      const existing = this.pool.get(instance.id);
      if (
        existing !== undefined &&
        (existing.host !== spec.host ||
          existing.port !== spec.port ||
          existing.backup !== spec.backup)
      ) {
        this.pool.remove(existing.id);
      } else if (existing !== undefined) {
        if (existing.draining) this.pool.setEnabled(existing.id, true);
        if (existing.configuredWeight !== spec.weight)
          this.pool.setWeight(existing.id, spec.weight ?? 1);
        continue;
      }
      this.pool.add(spec);
    }
    for (const backend of [...this.pool.backends]) {
      if (!seen.has(backend.id)) this.pool.drain(backend.id, { remove: true });
    }
    for (const listener of [...this.changeListeners]) listener();
  }

  private readSnapshotFile(): SnapshotFile | undefined {
    const file = this.options.snapshotFile;
    if (file === undefined) return undefined;
    try {
      const parsed = JSON.parse(readFileSync(file, "utf8")) as SnapshotFile;
      if (parsed.service !== this.service || !Array.isArray(parsed.instances)) return undefined;
      return parsed;
    } catch {
      return undefined;
    }
  }

  private writeSnapshotFile(instances: InstanceView[], index: number): void {
    const file = this.options.snapshotFile;
    if (file === undefined) return;
    const saved: SnapshotFile = { service: this.service, index, savedAt: Date.now(), instances };
    try {
      // Written aside, then renamed: a crash mid-write leaves the previous snapshot whole.
      writeFileSync(`${file}.tmp`, JSON.stringify(saved));
      renameSync(`${file}.tmp`, file);
    } catch (error) {
      this.options.onError?.(new Error(`cannot save the snapshot: ${(error as Error).message}`));
    }
  }
}
