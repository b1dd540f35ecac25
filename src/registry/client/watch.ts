/**
 * A subscription to one service over the registry's event stream. It reconnects on its own
 * (another registry node first, with backoff), and treats a stream that stays silent past
 * `idleTimeoutMs` as dead, since the registry sends a comment every few seconds: a watch
 * never silently stops receiving changes. The list it holds outlives every outage.
 */
import { request as httpRequest } from "node:http";
import { request as httpsRequest } from "node:https";
import type { InstanceView, ServiceDelta, ServiceSnapshot } from "./wire.js";

/** How to reach the registry. */
export interface RegistryEndpoint {
  /** Base URLs of registry nodes (the admin API), tried in turn: "http://127.0.0.1:9090". */
  registry: string | readonly string[];
  /** The admin token, when the registry's admin API has one. */
  token?: string;
}

export interface WatchOptions extends RegistryEndpoint {
  /** A stream silent for this long is dropped and opened again (ms; 30 s by default). */
  idleTimeoutMs?: number;
  /** Longest wait between reconnection attempts (ms; 5 s by default). */
  maxBackoffMs?: number;
  /** Hears the whole list after every change. */
  onUpdate: (instances: InstanceView[], index: number) => void;
  /** Hears connection trouble; the watch keeps trying. */
  onError?: (error: Error) => void;
}

/** Watches one service until `close()`. */
export class ServiceWatch {
  private readonly instances = new Map<string, InstanceView>();
  private readonly urls: string[];
  private attempt = 0;
  private closed = false;
  private request: ReturnType<typeof httpRequest> | undefined;
  private idleTimer: NodeJS.Timeout | undefined;
  private retryTimer: NodeJS.Timeout | undefined;
  /** The registry's index of the list held now (0 before the first answer). */
  index = 0;
  /** True while a stream is open. */
  connected = false;

  constructor(
    readonly service: string,
    private readonly options: WatchOptions,
  ) {
    this.urls = (
      typeof options.registry === "string" ? [options.registry] : [...options.registry]
    ).map((u) => u.replace(/\/+$/, ""));
    if (this.urls.length === 0) throw new Error("a watch needs at least one registry URL");
    this.connect();
  }

  /** The instances as last heard. */
  list(): InstanceView[] {
    return [...this.instances.values()];
  }

  /** Stops watching. */
  close(): void {
    this.closed = true;
    clearTimeout(this.idleTimer);
    clearTimeout(this.retryTimer);
    this.request?.destroy();
  }

  private connect(): void {
    if (this.closed) return;
    const base = this.urls[this.attempt % this.urls.length];
    const url = `${base}/api/registry/services/${encodeURIComponent(this.service)}/events`;
    const headers: Record<string, string> = { accept: "text/event-stream" };
    if (this.options.token !== undefined) headers.authorization = `Bearer ${this.options.token}`;
    const send = url.startsWith("https:") ? httpsRequest : httpRequest;
    let buffer = "";
    const req = send(url, { headers }, (res) => {
      if (res.statusCode !== 200) {
        res.resume();
        this.fail(
          new Error(`registry answered ${res.statusCode} to the watch of "${this.service}"`),
        );
        return;
      }
      this.connected = true;
      res.setEncoding("utf8");
      this.touch();
      res.on("data", (chunk: string) => {
        this.touch();
        buffer += chunk;
        if (buffer.length > 64 * 1024 * 1024) {
          this.fail(new Error("registry event too large"));
          return;
        }
        let end = buffer.indexOf("\n\n");
        while (end >= 0) {
          this.handleEvent(buffer.slice(0, end));
          buffer = buffer.slice(end + 2);
          end = buffer.indexOf("\n\n");
        }
      });
      res.on("end", () => this.fail(new Error("registry closed the watch")));
      res.on("error", (error) => this.fail(error));
    });
    this.request = req;
    req.on("error", (error) => this.fail(error));
    req.end();
  }

  private handleEvent(block: string): void {
    let event = "message";
    let data = "";
    for (const line of block.split("\n")) {
      if (line.startsWith("event: ")) event = line.slice(7);
      else if (line.startsWith("data: ")) data += line.slice(6);
    }
    if (data === "") return;
    try {
      if (event === "snapshot") {
        const snapshot = JSON.parse(data) as ServiceSnapshot;
        this.instances.clear();
        for (const instance of snapshot.instances) this.instances.set(instance.id, instance);
        this.applied(snapshot.index);
      } else if (event === "change") {
        const delta = JSON.parse(data) as ServiceDelta;
        for (const id of delta.removed) this.instances.delete(id);
        for (const instance of delta.upserted) this.instances.set(instance.id, instance);
        this.applied(delta.index);
      }
    } catch (error) {
      this.fail(new Error(`bad registry event: ${(error as Error).message}`));
    }
  }

  private applied(index: number): void {
    this.index = index;
    this.attempt = 0;
    this.options.onUpdate(this.list(), index);
  }

  private touch(): void {
    clearTimeout(this.idleTimer);
    this.idleTimer = setTimeout(
      () => this.fail(new Error("registry watch went silent")),
      this.options.idleTimeoutMs ?? 30_000,
    );
    this.idleTimer.unref();
  }

  /** Drops the stream and tries again later; the list stays as it was. */
  private fail(error: Error): void {
    if (this.closed || this.retryTimer !== undefined) return;
    this.connected = false;
    clearTimeout(this.idleTimer);
    this.request?.destroy();
    this.request = undefined;
    this.options.onError?.(error);
    const backoff = Math.min(
      this.options.maxBackoffMs ?? 5000,
      100 * 2 ** Math.min(this.attempt, 10),
    );
    this.attempt++;
    this.retryTimer = setTimeout(
      () => {
        this.retryTimer = undefined;
        this.connect();
      },
      backoff * (0.5 + Math.random() / 2),
    );
    this.retryTimer.unref();
  }
}
