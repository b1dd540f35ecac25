/**
 * An undici Agent that sends `http://SERVICE/...` to a live instance of SERVICE, chosen by
 * the client's own pool, so `fetch(url, { dispatcher })` and undici's `request` balance with
 * no balancer in the middle. A call that fails before its answer began (refused, reset,
 * timed out) and may be repeated (idempotent method, replayable body) goes to an instance not
 * tried yet, within a retry budget. Every call reports its outcome to the pool: a failure
 * counts as slow (`errorLatencyMs`), so peak EWMA does not send more to an instance whose
 * errors are fast, and a connection failure keeps the instance out for `ejectMs`.
 */
import { Agent, DecoratorHandler, type Dispatcher } from "undici";
import type { Lease } from "../../pool/lease.js";
import type { Selection } from "../../pool/selection.js";
import { RetryBudget } from "./retry-budget.js";
import { ServiceBalancer, type ServiceBalancerOptions } from "./service-balancer.js";

export interface RegistryDispatcherOptions extends ServiceBalancerOptions {
  /** Host names balanced through the registry; others pass through as with a plain Agent. */
  services: readonly string[];
  /** Most extra tries per call (2 by default). */
  maxRetries?: number;
  /** Retries may add this share to the calls made, plus `minRetriesPerSecond` (0.2 and 10). */
  retryRatio?: number;
  minRetriesPerSecond?: number;
  /** The latency a failed call reports, so errors look slow to peak EWMA (ms; 5000). */
  errorLatencyMs?: number;
  /** How long an instance that refused or dropped a connection is passed over (ms; 5000). */
  ejectMs?: number;
  /** How long a call waits for the service's first list before failing (ms; 10 s). */
  readyTimeoutMs?: number;
  /** Options for the underlying Agent (connection pools, timeouts). */
  agent?: Agent.Options;
}

const IDEMPOTENT = new Set(["GET", "HEAD", "OPTIONS", "PUT", "DELETE", "TRACE"]);

/** See the file's comment. */
export class RegistryDispatcher extends Agent {
  private readonly balancers = new Map<string, ServiceBalancer>();
  private readonly budget: RetryBudget;

  constructor(private readonly options: RegistryDispatcherOptions) {
    super(options.agent);
    this.budget = new RetryBudget(options.retryRatio ?? 0.2, options.minRetriesPerSecond ?? 10);
    for (const service of options.services) {
      this.balancers.set(service.toLowerCase(), new ServiceBalancer(service, options));
    }
  }

  /** The balancer of a service, to read its pool (instances, counters) or wait for `ready`. */
  balancer(service: string): ServiceBalancer | undefined {
    return this.balancers.get(service.toLowerCase());
  }

  override dispatch(
    options: Dispatcher.DispatchOptions,
    handler: Dispatcher.DispatchHandler,
  ): boolean {
    const origin = options.origin === undefined ? undefined : new URL(String(options.origin));
    const balancer =
      origin === undefined ? undefined : this.balancers.get(origin.hostname.toLowerCase());
    if (balancer === undefined || origin?.port !== "") return super.dispatch(options, handler);
    const call = new BalancedCall(this, balancer, options, new DecoratorHandler(handler));
    if (balancer.pool.size > 0) call.start();
    else {
      const timeout = this.options.readyTimeoutMs ?? 10_000;
      let timer: NodeJS.Timeout | undefined;
      const waited = new Promise<void>((resolve) => {
        timer = setTimeout(resolve, timeout);
      });
      void Promise.race([balancer.ready, waited]).then(() => {
        clearTimeout(timer);
        call.start();
      });
    }
    return true;
  }

  /** Stops the watches and closes connections (undici's close, promise or callback form). */
  override close(): Promise<void>;
  override close(callback: () => void): void;
  override close(...args: unknown[]): Promise<void> | void {
    for (const balancer of this.balancers.values()) balancer.close();
    // undici's close() calls close(callback) again: pass the arguments through unchanged.
    return (super.close as (...a: unknown[]) => Promise<void> | void).apply(this, args);
  }

  /** @internal Sends one attempt through the Agent proper. */
  send(options: Dispatcher.DispatchOptions, handler: Dispatcher.DispatchHandler): void {
    super.dispatch(options, handler);
  }

  /** @internal */
  get settings(): RegistryDispatcherOptions {
    return this.options;
  }

  /** @internal */
  get retryBudget(): RetryBudget {
    return this.budget;
  }
}

/** One call: its selection, its current attempt, and the caller's handler. */
class BalancedCall implements Dispatcher.DispatchController {
  private readonly selection: Selection;
  private lease: Lease | undefined;
  private attemptController: Dispatcher.DispatchController | undefined;
  private startedAt = 0;
  private requestStarted = false;
  private responded = false;
  private abortReason: Error | null = null;
  private done = false;
  private readonly replayable: boolean;
  private tries = 0;

  constructor(
    private readonly dispatcher: RegistryDispatcher,
    private readonly balancer: ServiceBalancer,
    private readonly options: Dispatcher.DispatchOptions,
    private readonly inner: Dispatcher.DispatchHandler,
  ) {
    this.selection = balancer.select();
    const body = options.body;
    this.replayable =
      IDEMPOTENT.has((options.method ?? "GET").toUpperCase()) &&
      (body === undefined ||
        body === null ||
        typeof body === "string" ||
        body instanceof Uint8Array);
    dispatcher.retryBudget.deposit();
  }

  // The caller's view of the call, whichever attempt is running.
  get aborted(): boolean {
    return this.abortReason !== null;
  }
  get paused(): boolean {
    return this.attemptController?.paused ?? false;
  }
  get reason(): Error | null {
    return this.abortReason;
  }
  abort(reason: Error): void {
    this.abortReason = reason;
    this.attemptController?.abort(reason);
  }
  pause(): void {
    this.attemptController?.pause();
  }
  resume(): void {
    this.attemptController?.resume();
  }

  /** Sends the next attempt, or fails the call when no instance is left. */
  start(): void {
    const next = this.selection.next();
    if (next.kind === "none") {
      this.finish(
        new Error(
          `no instance of service "${this.balancer.service}" can take the call (${next.reason})`,
        ),
      );
      return;
    }
    this.tries++;
    const lease = next.lease;
    this.lease = lease;
    lease.established();
    this.startedAt = performance.now();
    const { host, port } = lease.backend;
    const origin = `http://${host.includes(":") ? `[${host}]` : host}:${port}`;
    this.dispatcher.send({ ...this.options, origin }, this.attemptHandler(lease));
  }

  private attemptHandler(lease: Lease): Dispatcher.DispatchHandler {
    return {
      onRequestStart: (controller, context) => {
        this.attemptController = controller;
        if (this.abortReason !== null) controller.abort(this.abortReason);
        else if (!this.requestStarted) {
          this.requestStarted = true;
          this.inner.onRequestStart?.(this, context);
        }
      },
      onResponseStart: (_controller, statusCode, headers, statusMessage) => {
        this.responded = true;
        const latencyMs = performance.now() - this.startedAt;
        const ok = statusCode < 500;
        lease.release({ ok, latencyMs: ok ? latencyMs : Math.max(latencyMs, this.errorLatencyMs) });
        this.inner.onResponseStart?.(this, statusCode, headers, statusMessage);
      },
      onResponseData: (_controller, chunk) => this.inner.onResponseData?.(this, chunk),
      onResponseEnd: (_controller, trailers) => {
        this.done = true;
        this.selection.end();
        this.inner.onResponseEnd?.(this, trailers);
      },
      onResponseError: (_controller, error) => this.onAttemptError(lease, error),
      onRequestUpgrade: (_controller, statusCode, headers, socket) => {
        lease.release({ ok: true, latencyMs: performance.now() - this.startedAt });
        this.done = true;
        this.selection.end();
        this.inner.onRequestUpgrade?.(this, statusCode, headers, socket);
      },
    };
  }

  private get errorLatencyMs(): number {
    return this.dispatcher.settings.errorLatencyMs ?? 5000;
  }

  private onAttemptError(lease: Lease, error: Error): void {
    lease.release({
      ok: false,
      latencyMs: Math.max(performance.now() - this.startedAt, this.errorLatencyMs),
    });
    const pool = this.balancer.pool;
    if (!this.responded) {
      // It refused or dropped the connection: pass it over for a while (outlier ejection).
      pool.suspend(lease.backend.id, pool.clock() + (this.dispatcher.settings.ejectMs ?? 5000));
    }
    const retry =
      !this.responded &&
      this.abortReason === null &&
      this.replayable &&
      this.tries <= (this.dispatcher.settings.maxRetries ?? 2) &&
      this.dispatcher.retryBudget.tryWithdraw();
    if (retry) {
      this.attemptController = undefined;
      this.start();
      return;
    }
    this.finish(error);
  }

  private finish(error: Error): void {
    if (this.done) return;
    this.done = true;
    this.selection.end();
    this.inner.onResponseError?.(this, error);
  }
}
