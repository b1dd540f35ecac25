/**
 * Keeps one instance registered: registers, renews every third of the TTL (so a lost renewal
 * or two still beats the expiry), registers again when the registry no longer knows it (it
 * expired, or the registry restarted empty), and deregisters on `stop()`. Registry nodes
 * are tried in turn when one cannot be reached.
 */
import type { RegistryEndpoint } from "./watch.js";

export interface InstanceOptions extends RegistryEndpoint {
  service: string;
  /** "host:port" where clients reach the instance. */
  address: string;
  /** Defaults to the address. */
  id?: string;
  weight?: number;
  zone?: string;
  metadata?: Record<string, string>;
  /** Lease length (ms; 10 s by default). */
  ttlMs?: number;
  onError?: (error: Error) => void;
}

/** A registered instance with its heartbeat; see the file's comment. */
export class InstanceHeartbeat {
  private readonly urls: string[];
  private node = 0;
  private timer: NodeJS.Timeout | undefined;
  private stopped = false;
  private paused = false;
  private id: string | undefined;
  /** Renewals and registrations that the registry accepted. */
  beats = 0;

  constructor(private readonly options: InstanceOptions) {
    this.urls = (
      typeof options.registry === "string" ? [options.registry] : [...options.registry]
    ).map((u) => u.replace(/\/+$/, ""));
  }

  /** Registers (retrying until a registry answers) and starts the heartbeat. */
  async start(): Promise<void> {
    for (;;) {
      if (await this.register()) break;
      if (this.stopped) return;
      await new Promise((resolve) => setTimeout(resolve, 200));
    }
    this.schedule();
  }

  /** Stops renewing without deregistering: the lease runs out as if the instance had died. */
  pause(): void {
    this.paused = true;
  }

  /** Starts renewing again (registering anew if the lease ran out meanwhile). */
  resume(): void {
    this.paused = false;
  }

  /** Stops the heartbeat and deregisters. */
  async stop(): Promise<void> {
    this.stopped = true;
    clearTimeout(this.timer);
    if (this.id === undefined) return;
    await this.call("DELETE", `/instances/${encodeURIComponent(this.id)}`).catch(() => undefined);
  }

  private get ttlMs(): number {
    return this.options.ttlMs ?? 10_000;
  }

  private schedule(): void {
    if (this.stopped) return;
    this.timer = setTimeout(() => void this.beat(), this.ttlMs / 3);
  }

  private async beat(): Promise<void> {
    try {
      if (!this.paused) {
        const renewed = this.id !== undefined && (await this.renew());
        if (!renewed) await this.register();
      }
    } catch (error) {
      this.options.onError?.(error as Error);
    }
    this.schedule();
  }

  private async renew(): Promise<boolean> {
    const response = await this.call("POST", `/instances/${encodeURIComponent(this.id!)}/renew`);
    await response.body?.cancel();
    if (response.status === 200) this.beats++;
    return response.status === 200;
  }

  private async register(): Promise<boolean> {
    const { address, id, weight, zone, metadata } = this.options;
    try {
      const response = await this.call("POST", "/instances", {
        address,
        id,
        weight,
        zone,
        metadata,
        ttl: this.ttlMs,
      });
      const body = (await response.json()) as { id?: string; error?: string };
      if (response.status !== 201)
        throw new Error(`registration refused (${response.status}): ${body.error}`);
      this.id = body.id;
      this.beats++;
      return true;
    } catch (error) {
      this.options.onError?.(error as Error);
      return false;
    }
  }

  /** One call to the service's instances, moving to the next registry node on a network error. */
  private async call(method: string, path: string, body?: unknown): Promise<Response> {
    const base = this.urls[this.node % this.urls.length];
    const headers: Record<string, string> = {};
    if (this.options.token !== undefined) headers.authorization = `Bearer ${this.options.token}`;
    if (body !== undefined) headers["content-type"] = "application/json";
    try {
      return await fetch(
        `${base}/api/registry/services/${encodeURIComponent(this.options.service)}${path}`,
        {
          method,
          headers,
          body: body === undefined ? undefined : JSON.stringify(body),
          signal: AbortSignal.timeout(Math.max(1000, this.ttlMs / 3)),
        },
      );
    } catch (error) {
      this.node++;
      throw error;
    }
  }
}
