/**
 * The registry kept in etcd, shared by every ballast node with the same endpoints and prefix.
 * An instance is one key, `{prefix}instances/{service}/{id}`, attached to an etcd lease whose
 * TTL is the instance's (rounded up to whole seconds, etcd's unit): renewing is a lease
 * keep-alive, and etcd itself deletes the key when the lease runs out, so a lost ballast node
 * loses nothing. Each node follows the keys with one etcd watch and keeps a view of them that
 * answers reads and feeds its watchers; indexes are etcd revisions, the same on every node.
 * Self-preservation is a judgement of each node's view (etcd has already deleted the keys):
 * see docs/registry.md.
 */
import type { Etcd3, IKeyValue, IWatchResponse, Watcher } from "etcd3";
import type { EtcdStorageConfig } from "../config/schema/index.js";
import type { Logger } from "../log.js";
import type { InstanceView, ServiceSnapshot } from "./client/wire.js";
import { parseKey, parseStored, type StoredInstance } from "./etcd-keys.js";
import { LeaseRenewals } from "./etcd-renewals.js";
import { checkRegistration, sameInstance } from "./registration.js";
import {
  instanceView,
  isPreserving,
  leaseViews,
  serviceSnapshot,
  serviceSummaries,
} from "./service-views.js";
import {
  type ChangeListener,
  type InstanceRegistration,
  type LeaseGranted,
  type LeaseView,
  RegistryError,
  type RegistryStorage,
  type SelfPreservation,
  type ServiceSummary,
} from "./storage.js";

/** Limits and behaviour of an etcd-backed registry. */
export interface EtcdStoreOptions {
  etcd: EtcdStorageConfig;
  minTtlMs: number;
  maxTtlMs: number;
  maxInstances: number;
  selfPreservation?: SelfPreservation;
  logger?: Logger;
}

interface Instance extends InstanceView {
  ttlMs: number;
  registeredAt: number;
  renewals: number;
  /** The etcd lease holding the key ("0" once self-preservation keeps a deleted key). */
  lease: string;
  keptTimer: NodeJS.Timeout | undefined;
}

interface Service {
  name: string;
  index: number;
  instances: Map<string, Instance>;
  /** When recent lease expiries happened, within the self-preservation window. */
  expiries: number[];
  /** Keys deleted by etcd at a lease's end, awaiting self-preservation's judgement. */
  pending: Map<string, { instance: Instance; revision: number }>;
  /** True while a judgement of `pending` runs. */
  judging: boolean;
}

/** Above this many live instances, self-preservation judges by expiries alone (no lease queries). */
const MAX_LEASE_QUERIES = 2_000;
/** How long a write waits for this node's watch to show it, so a read after it sees it. */
const CATCH_UP_MS = 2_000;

/** The etcd-backed registry; see the file's comment. */
export class EtcdRegistryStore implements RegistryStorage {
  /** The etcd revision this node's view has reached. */
  index = 0;
  private readonly services = new Map<string, Service>();
  private readonly listeners: ChangeListener[] = [];
  /** Set by `start`: etcd's client (and gRPC) load only when a registry uses etcd. */
  private client!: Etcd3;
  private renewals!: LeaseRenewals;
  private readonly keys: string;
  private watcher: Watcher | undefined;
  private catchUps: { revision: number; done: () => void }[] = [];
  private instanceCount = 0;
  private closed = false;

  constructor(private readonly options: EtcdStoreOptions) {
    this.keys = `${options.etcd.prefix}instances/`;
  }

  /** Loads every instance from etcd, then follows changes; fails when etcd does not answer. */
  async start(): Promise<void> {
    const { etcd } = this.options;
    // Loaded here, not at the top: gRPC and etcd's protocol take a while to load, and a
    // node that keeps its registry in memory should not pay for them.
    const { Etcd3 } = await import("etcd3");
    this.client = new Etcd3({
      hosts: etcd.endpoints.map((e) => (e.startsWith("http://") ? e : `http://${e}`)),
      dialTimeout: etcd.timeout,
      ...(etcd.username !== undefined &&
        etcd.password !== undefined && {
          auth: { username: etcd.username, password: etcd.password },
        }),
      // Calls have a deadline, so one stuck on a dead member is tried on another; streams
      // (the watch, keep-alives) stay open.
      defaultCallOptions: (context) =>
        context.isStream ? {} : { deadline: Date.now() + etcd.timeout },
    });
    this.renewals = new LeaseRenewals(this.client, etcd.timeout);
    try {
      await this.resync();
    } catch (error) {
      this.renewals.close();
      this.client.close();
      throw new Error(
        `registry: etcd at ${this.options.etcd.endpoints.join(", ")} did not answer: ${(error as Error).message}`,
      );
    }
    await this.follow();
  }

  async register(service: string, registration: InstanceRegistration): Promise<LeaseGranted> {
    const checked = checkRegistration(service, registration, this.options);
    const { id, ttlMs } = checked;
    const held = this.services.get(service)?.instances.get(id);
    if (held === undefined && this.instanceCount >= this.options.maxInstances) {
      throw new RegistryError(
        `the registry holds its maximum of ${this.options.maxInstances} instances`,
        "full",
      );
    }
    const stored: StoredInstance = {
      host: checked.host,
      port: checked.port,
      weight: checked.weight,
      ...(checked.zone !== undefined && { zone: checked.zone }),
      metadata: checked.metadata,
      ttlMs,
      registeredAt: held?.registeredAt ?? Date.now(),
    };
    const key = this.key(service, id);
    const granted = await this.etcdCall(() =>
      this.client.leaseClient.leaseGrant({ TTL: Math.ceil(ttlMs / 1000) }),
    );
    const put = await this.etcdCall(() =>
      this.client.kv.put({
        key: Buffer.from(key),
        value: Buffer.from(JSON.stringify(stored)),
        lease: granted.ID,
        prev_kv: true,
      }),
    );
    // A re-registration moved the key to a new lease; the old one holds nothing now.
    const previous = put.prev_kv?.lease;
    if (previous !== undefined && previous !== "0" && previous !== granted.ID) {
      this.client.leaseClient.leaseRevoke({ ID: previous }).catch(() => undefined);
    }
    if (held === undefined) {
      this.options.logger?.info({ service, instance: id, ttlMs }, "instance registered");
    }
    await this.caughtUp(Number(put.header.revision));
    return {
      id,
      expiresAt: Date.now() + Number(granted.TTL) * 1000,
      index: this.serviceIndex(service),
    };
  }

  async renew(service: string, id: string): Promise<number | undefined> {
    const held = this.services.get(service)?.instances.get(id);
    let lease = held !== undefined && !held.expired ? held.lease : undefined;
    let ttl = lease === undefined ? 0 : await this.keepAlive(lease);
    if (ttl <= 0) {
      // This node's view may lag a re-registration on another node by a moment: ask etcd.
      const current = await this.etcdCall(() => this.client.get(this.key(service, id)).exec());
      const fresh = current.kvs[0]?.lease;
      if (fresh === undefined || fresh === "0" || fresh === lease) return undefined;
      lease = fresh;
      ttl = await this.keepAlive(lease);
      if (ttl <= 0) return undefined;
    }
    const expiresAt = Date.now() + ttl * 1000;
    const now = this.services.get(service)?.instances.get(id);
    if (now !== undefined && now.lease === lease) {
      now.expiresAt = expiresAt;
      now.renewals++;
    }
    return expiresAt;
  }

  async deregister(service: string, id: string): Promise<boolean> {
    const key = this.key(service, id);
    const current = await this.etcdCall(() => this.client.get(key).exec());
    const kv: IKeyValue | undefined = current.kvs[0];
    const held = this.services.get(service)?.instances.get(id);
    if (kv === undefined && held === undefined) return false;
    // Mark it leaving first, so every node's watch tells this delete from a lease's end (and
    // drops an instance that self-preservation keeps in its view).
    const stored = kv !== undefined ? parseStored(kv) : held && storedOf(held);
    if (stored !== undefined) {
      await this.etcdCall(() =>
        this.client.kv
          .put({
            key: Buffer.from(key),
            value: Buffer.from(JSON.stringify({ ...stored, leaving: true })),
            lease: kv?.lease ?? "0",
          })
          .catch(() => undefined),
      );
    }
    const deleted = await this.etcdCall(() =>
      this.client.kv.deleteRange({ key: Buffer.from(key) }),
    );
    if (kv !== undefined && kv.lease !== "0")
      this.client.leaseClient.leaseRevoke({ ID: kv.lease }).catch(() => undefined);
    this.options.logger?.info({ service, instance: id }, "instance deregistered");
    await this.caughtUp(Number(deleted.header.revision));
    return true;
  }

  snapshot(service: string): ServiceSnapshot {
    return serviceSnapshot(service, this.services.get(service));
  }

  preserving(service: string): boolean {
    const entry = this.services.get(service);
    return entry !== undefined && isPreserving(entry);
  }

  serviceIndex(service: string): number {
    return this.services.get(service)?.index ?? 0;
  }

  list(): ServiceSummary[] {
    return serviceSummaries(this.services.values());
  }

  leases(service: string): LeaseView[] {
    return leaseViews(this.services.get(service));
  }

  onChange(listener: ChangeListener): () => void {
    this.listeners.push(listener);
    return () => {
      const at = this.listeners.indexOf(listener);
      if (at >= 0) this.listeners.splice(at, 1);
    };
  }

  /** Stops the watch, the keep-alive stream and the timers, and closes the connections. */
  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    for (const entry of this.services.values()) {
      for (const i of entry.instances.values()) if (i.keptTimer) clearTimeout(i.keptTimer);
    }
    for (const wait of this.catchUps) wait.done();
    this.catchUps = [];
    if (this.client === undefined) return;
    this.renewals.close();
    await this.cancelWatch();
    this.client.close();
  }

  /** Ends the watch; a member that does not answer the cancel holds up nothing past a second. */
  private async cancelWatch(): Promise<void> {
    const watcher = this.watcher;
    this.watcher = undefined;
    if (watcher === undefined) return;
    let timer: NodeJS.Timeout | undefined;
    await Promise.race([
      watcher.cancel().catch(() => undefined),
      new Promise((resolve) => {
        timer = setTimeout(resolve, 1000);
      }),
    ]);
    clearTimeout(timer);
  }

  /** Calls before `start` or after `close` get a 503, not a crash. */
  private checkOpen(): void {
    if (this.closed) throw new RegistryError("the registry is stopping", "unavailable");
    if (this.client === undefined)
      throw new RegistryError("the registry is starting", "unavailable");
  }

  private key(service: string, id: string): string {
    return `${this.keys}${service}/${id}`;
  }

  private async keepAlive(lease: string): Promise<number> {
    this.checkOpen();
    try {
      return await this.renewals.renew(lease);
    } catch (error) {
      throw unavailable(error);
    }
  }

  /** Runs an etcd call; a failure becomes "unavailable" (503), so the caller tries again. */
  private async etcdCall<T>(call: () => Promise<T>): Promise<T> {
    this.checkOpen();
    try {
      return await call();
    } catch (error) {
      throw unavailable(error);
    }
  }

  /** Reads every instance key and brings the view in line with it (at start, after a lost watch). */
  private async resync(): Promise<void> {
    const answer = await this.client.getAll().prefix(this.keys).exec();
    const revision = Number(answer.header.revision);
    const seen = new Map<string, Set<string>>();
    for (const kv of answer.kvs) {
      const name = parseKey(this.keys, kv.key);
      if (name === undefined) continue;
      let ids = seen.get(name.service);
      if (ids === undefined) {
        ids = new Set();
        seen.set(name.service, ids);
      }
      ids.add(name.id);
      this.applyPut(name.service, name.id, kv, revision);
    }
    // What vanished while this node did not watch is judged like an expiry.
    for (const entry of [...this.services.values()]) {
      for (const [id, instance] of [...entry.instances]) {
        if (!instance.expired && !seen.get(entry.name)?.has(id)) {
          this.applyDelete(entry.name, id, revision, false);
        }
      }
    }
    // A long-poll that knows an index from before this load may have missed a deletion.
    for (const entry of this.services.values()) entry.index = Math.max(entry.index, revision);
    this.reached(revision);
  }

  /** Opens the etcd watch on the instance keys from the revision after the view's. */
  private async follow(): Promise<void> {
    const watcher = await this.client
      .watch()
      .prefix(this.keys)
      .startRevision(String(this.index + 1))
      .create();
    this.watcher = watcher;
    watcher.on("data", (answer: IWatchResponse) => this.applyWatch(answer));
    watcher.on("disconnected", () =>
      this.options.logger?.warn({}, "registry: etcd watch lost its member; resuming on another"),
    );
    // A cancelled watch (its revision was compacted away): read everything again, watch anew.
    watcher.on("error", (error: Error) => {
      if (this.closed) return;
      this.options.logger?.warn(
        { error: error.message },
        "registry: etcd watch cancelled; reloading",
      );
      void this.recover();
    });
  }

  private async recover(): Promise<void> {
    for (let attempt = 0; !this.closed; attempt++) {
      try {
        await this.cancelWatch();
        await this.resync();
        await this.follow();
        return;
      } catch {
        await new Promise((r) => setTimeout(r, Math.min(5_000, 100 * 2 ** attempt)));
      }
    }
  }

  private applyWatch(answer: IWatchResponse): void {
    const revision = Number(answer.header.revision);
    for (const event of answer.events) {
      const name = parseKey(this.keys, event.kv.key);
      if (name === undefined) continue;
      const at = Number(event.kv.mod_revision);
      if (event.type.toLowerCase() === "put") this.applyPut(name.service, name.id, event.kv, at);
      else this.applyDelete(name.service, name.id, at, false);
    }
    this.reached(revision);
  }

  private applyPut(service: string, id: string, kv: IKeyValue, revision: number): void {
    const stored = parseStored(kv);
    if (stored === undefined) {
      this.options.logger?.warn(
        { service, instance: id },
        "registry: unreadable etcd value ignored",
      );
      return;
    }
    if (stored.leaving) {
      this.applyDelete(service, id, revision, true);
      return;
    }
    let entry = this.services.get(service);
    if (entry === undefined) {
      entry = {
        name: service,
        index: 0,
        instances: new Map(),
        expiries: [],
        pending: new Map(),
        judging: false,
      };
      this.services.set(service, entry);
    }
    const held = entry.instances.get(id);
    if (held?.keptTimer) clearTimeout(held.keptTimer);
    const instance: Instance = {
      id,
      host: stored.host,
      port: stored.port,
      weight: stored.weight,
      ...(stored.zone !== undefined && { zone: stored.zone }),
      metadata: stored.metadata,
      expired: false,
      expiresAt: Date.now() + stored.ttlMs,
      ttlMs: stored.ttlMs,
      registeredAt: stored.registeredAt,
      renewals: held === undefined ? 0 : held.renewals + 1,
      lease: kv.lease,
      keptTimer: undefined,
    };
    entry.instances.set(id, instance);
    if (held === undefined) this.instanceCount++;
    if (held === undefined || !sameInstance(held, instance))
      this.changed(entry, id, instance, revision);
  }

  /** A key left: on purpose (`leaving`), or its lease ran out; the latter may be kept. */
  private applyDelete(service: string, id: string, revision: number, leaving: boolean): void {
    const entry = this.services.get(service);
    const instance = entry?.instances.get(id);
    if (entry === undefined || instance === undefined) return;
    if (leaving) {
      this.remove(entry, id, revision);
      return;
    }
    if (instance.expired) return;
    const preservation = this.options.selfPreservation;
    if (preservation === undefined) {
      this.expire(entry, id, revision);
      return;
    }
    // Judged a moment later, with every expiry of the same moment and the others' leases.
    entry.pending.set(id, { instance, revision });
    if (!entry.judging) void this.judge(entry, preservation);
  }

  /**
   * Self-preservation's judgement of the service's pending expiries, as the memory store's:
   * when the silent instances (kept, expiring, or with less than half their lease left), with
   * those expired within the window, are over the share, it is a partition and they stay.
   */
  private async judge(entry: Service, p: SelfPreservation): Promise<void> {
    entry.judging = true;
    try {
      await new Promise((resolve) => setImmediate(resolve));
      const silentLive = await this.countSilent(entry);
      if (this.closed) return;
      // A pending instance that registered again meanwhile is no longer expiring.
      const batch = [...entry.pending].filter(([id, x]) => entry.instances.get(id) === x.instance);
      entry.pending.clear();
      if (batch.length === 0) return;
      const now = Date.now();
      while (entry.expiries.length > 0 && entry.expiries[0] <= now - p.windowMs) {
        entry.expiries.shift();
      }
      const recent = entry.expiries.length;
      const population = entry.instances.size + recent;
      let kept = 0;
      for (const i of entry.instances.values()) if (i.expired) kept++;
      const partition =
        population >= p.minInstances &&
        (kept + batch.length + silentLive + recent) / population > p.share;
      for (const [id, { instance, revision }] of batch) {
        if (partition) this.keep(entry, id, instance, revision, p);
        else this.expire(entry, id, revision);
      }
      if (partition) {
        this.options.logger?.warn(
          { service: entry.name, expired: batch.length, instances: entry.instances.size },
          "self-preservation: too many leases ran out at once; keeping the instances",
        );
      }
    } finally {
      entry.judging = false;
      if (entry.pending.size > 0 && !this.closed) void this.judge(entry, p);
    }
  }

  /**
   * How many live instances of the service have less than half their lease left, asked of
   * etcd (renewals are keep-alives that other nodes never see). Services too large to ask
   * about count none: the judgement rests on expiries.
   */
  private async countSilent(entry: Service): Promise<number> {
    const live = [...entry.instances].filter(
      ([id, i]) => !i.expired && !entry.pending.has(id) && i.lease !== "0",
    );
    if (live.length > MAX_LEASE_QUERIES) return 0;
    const silent = await Promise.all(
      live.map(([, i]) =>
        this.client.leaseClient
          .leaseTimeToLive({ ID: i.lease })
          .then((answer) => Number(answer.TTL) < Number(answer.grantedTTL) / 2)
          // Not found: it ran out too. No answer: in doubt, lean to keeping (Eureka's way).
          .catch(() => true),
      ),
    );
    return silent.filter(Boolean).length;
  }

  private keep(
    entry: Service,
    id: string,
    instance: Instance,
    revision: number,
    p: SelfPreservation,
  ): void {
    instance.expired = true;
    instance.lease = "0";
    instance.keptTimer = setTimeout(() => {
      instance.keptTimer = undefined;
      if (entry.instances.get(id) !== instance) return;
      this.remove(entry, id, this.index);
      this.options.logger?.warn(
        { service: entry.name, instance: id },
        "kept instance removed: kept for too long",
      );
    }, p.keepForMs);
    instance.keptTimer.unref();
    this.changed(entry, id, instance, revision);
  }

  private expire(entry: Service, id: string, revision: number): void {
    entry.expiries.push(Date.now());
    this.remove(entry, id, revision);
    this.options.logger?.warn(
      { service: entry.name, instance: id },
      "lease expired: instance removed",
    );
  }

  private remove(entry: Service, id: string, revision: number): void {
    const instance = entry.instances.get(id);
    if (instance === undefined) return;
    if (instance.keptTimer) clearTimeout(instance.keptTimer);
    entry.instances.delete(id);
    this.instanceCount--;
    this.changed(entry, id, undefined, revision);
  }

  private changed(
    entry: Service,
    id: string,
    instance: Instance | undefined,
    revision: number,
  ): void {
    entry.index = Math.max(entry.index, revision);
    const shown = instance === undefined ? undefined : instanceView(instance);
    for (const listener of this.listeners) listener(entry.name, id, shown);
  }

  /** The view has reached `revision`: writes waiting for it answer. */
  private reached(revision: number): void {
    if (revision > this.index) this.index = revision;
    if (this.catchUps.length === 0) return;
    const still: typeof this.catchUps = [];
    for (const wait of this.catchUps) {
      if (wait.revision <= this.index) wait.done();
      else still.push(wait);
    }
    this.catchUps = still;
  }

  /** Resolves once this node's view shows `revision` (read your own writes), or after a bound. */
  private caughtUp(revision: number): Promise<void> {
    if (revision <= this.index || this.closed) return Promise.resolve();
    return new Promise((resolve) => {
      const timer = setTimeout(resolve, CATCH_UP_MS);
      this.catchUps.push({
        revision,
        done: () => {
          clearTimeout(timer);
          resolve();
        },
      });
    });
  }
}

function storedOf(i: Instance): StoredInstance {
  return {
    host: i.host,
    port: i.port,
    weight: i.weight,
    ...(i.zone !== undefined && { zone: i.zone }),
    metadata: i.metadata,
    ttlMs: i.ttlMs,
    registeredAt: i.registeredAt,
  };
}

function unavailable(error: unknown): RegistryError {
  if (error instanceof RegistryError) return error;
  return new RegistryError(`etcd did not answer: ${(error as Error).message}`, "unavailable");
}
