/**
 * Watches of the registry: long-polls that wait for a service's index to pass the one they
 * know (Consul's blocking queries), and server-sent event streams that get a snapshot, then
 * one delta per burst of changes. Changes are gathered until the current turn of the event
 * loop ends, so an expiry of many instances is one event, serialized once for every watcher.
 * Streams carry a comment every `pingIntervalMs`, so a client can tell a quiet service from
 * a dead connection.
 */
import type { ServerResponse } from "node:http";
import type { InstanceView, ServiceDelta, ServiceSnapshot } from "./client/wire.js";
import type { RegistryStorage } from "./storage.js";

interface Waiter {
  index: number;
  resolve: (snapshot: ServiceSnapshot | undefined) => void;
  timer: NodeJS.Timeout;
}

/** Fans out the store's changes to long-polls and event streams. */
export class WatchHub {
  private readonly waiters = new Map<string, Set<Waiter>>();
  private readonly streams = new Map<string, Set<ServerResponse>>();
  /** When each stream opened, for `ballast ctl watchers`. */
  private readonly openedAt = new WeakMap<ServerResponse, number>();
  private pending = new Map<string, Map<string, InstanceView | undefined>>();
  private flushScheduled = false;
  private readonly pingTimer: NodeJS.Timeout;
  private readonly off: () => void;

  constructor(
    private readonly store: RegistryStorage,
    pingIntervalMs = 10_000,
  ) {
    this.off = store.onChange((service, id, instance) => {
      let changes = this.pending.get(service);
      if (changes === undefined) {
        changes = new Map();
        this.pending.set(service, changes);
      }
      changes.set(id, instance);
      if (!this.flushScheduled) {
        this.flushScheduled = true;
        setImmediate(() => this.flush());
      }
    });
    this.pingTimer = setInterval(() => this.ping(), pingIntervalMs);
    this.pingTimer.unref();
  }

  /**
   * The service once its index passes `index`, or as it is after `waitMs` (undefined if the
   * hub closed). An index from the future (the registry restarted) answers at once.
   */
  waitForChange(
    service: string,
    index: number,
    waitMs: number,
  ): Promise<ServiceSnapshot | undefined> {
    if (this.store.serviceIndex(service) > index || index > this.store.index) {
      return Promise.resolve(this.store.snapshot(service));
    }
    return new Promise((resolve) => {
      let set = this.waiters.get(service);
      if (set === undefined) {
        set = new Set();
        this.waiters.set(service, set);
      }
      const waiter: Waiter = {
        index,
        resolve,
        timer: setTimeout(() => {
          this.waiters.get(service)?.delete(waiter);
          resolve(this.store.snapshot(service));
        }, waitMs),
      };
      set.add(waiter);
    });
  }

  /** Streams a service's snapshot, then its changes, to `res` until the client leaves. */
  stream(service: string, res: ServerResponse): void {
    res.writeHead(200, {
      "content-type": "text/event-stream",
      "cache-control": "no-store",
      "x-accel-buffering": "no",
    });
    const snapshot = this.store.snapshot(service);
    res.write(
      `retry: 1000\nevent: snapshot\nid: ${snapshot.index}\ndata: ${JSON.stringify(snapshot)}\n\n`,
    );
    let set = this.streams.get(service);
    if (set === undefined) {
      set = new Set();
      this.streams.set(service, set);
    }
    set.add(res);
    this.openedAt.set(res, Date.now());
    res.on("close", () => {
      const current = this.streams.get(service);
      current?.delete(res);
      if (current?.size === 0) this.streams.delete(service);
    });
  }

  /**
   * Who watches what: open streams and waiting long-polls per service, with the address and
   * opening time of the first `maxClients` streams of each.
   */
  watchers(maxClients = 50): {
    service: string;
    streams: number;
    polls: number;
    clients: { address: string; since: number }[];
  }[] {
    const names = new Set([...this.streams.keys(), ...this.waiters.keys()]);
    return [...names].map((service) => {
      const clients: { address: string; since: number }[] = [];
      for (const res of this.streams.get(service) ?? []) {
        if (clients.length >= maxClients) break;
        const socket = res.socket;
        const host = socket?.remoteAddress ?? "?";
        clients.push({
          address: host.includes(":")
            ? `[${host}]:${socket?.remotePort}`
            : `${host}:${socket?.remotePort}`,
          since: this.openedAt.get(res) ?? 0,
        });
      }
      return {
        service,
        streams: this.streams.get(service)?.size ?? 0,
        polls: this.waiters.get(service)?.size ?? 0,
        clients,
      };
    });
  }

  /** Stops watching the store, then ends every watch. */
  close(): void {
    this.off();
    clearInterval(this.pingTimer);
    this.endAll();
  }

  /** Ends every stream and answers every long-poll, so the admin server can stop. */
  endAll(): void {
    for (const set of this.streams.values()) for (const res of set) res.end();
    this.streams.clear();
    for (const set of this.waiters.values()) {
      for (const waiter of set) {
        clearTimeout(waiter.timer);
        waiter.resolve(undefined);
      }
    }
    this.waiters.clear();
  }

  private flush(): void {
    this.flushScheduled = false;
    const pending = this.pending;
    this.pending = new Map();
    for (const [service, changes] of pending) {
      const waiters = this.waiters.get(service);
      const index = this.store.serviceIndex(service);
      if (waiters !== undefined && waiters.size > 0) {
        const snapshot = this.store.snapshot(service);
        for (const waiter of [...waiters]) {
          if (index <= waiter.index) continue;
          clearTimeout(waiter.timer);
          waiters.delete(waiter);
          waiter.resolve(snapshot);
        }
      }
      const streams = this.streams.get(service);
      if (streams === undefined || streams.size === 0) continue;
      const delta: ServiceDelta = { service, index, upserted: [], removed: [], preserving: false };
      for (const [id, instance] of changes) {
        if (instance === undefined) delta.removed.push(id);
        else delta.upserted.push(instance);
      }
      delta.preserving = this.store.preserving(service);
      const event = `event: change\nid: ${index}\ndata: ${JSON.stringify(delta)}\n\n`;
      for (const res of streams) send(res, event);
    }
  }

  private ping(): void {
    for (const set of this.streams.values()) for (const res of set) send(res, ": ping\n\n");
  }
}

/** Most bytes a stream may have queued: a watcher that stops reading is cut off, not buffered for. */
const MAX_QUEUED_BYTES = 16 * 1024 * 1024;

/** Writes an event, or drops a watcher that has stopped reading (it reconnects to a snapshot). */
function send(res: ServerResponse, text: string): void {
  if (res.writableLength > MAX_QUEUED_BYTES) {
    res.destroy();
    return;
  }
  res.write(text);
}
