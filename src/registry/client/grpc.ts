/**
 * grpc-js support: a resolver for `ballast:///SERVICE` targets and a load-balancing policy
 * named "ballast", so an existing `@grpc/grpc-js` client balances over the registry's
 * instances with no change beyond the target string and one `registerBallastResolver()`.
 *
 * The resolver watches the service (a ServiceBalancer: event stream, snapshot that outlives
 * registry outages, optional snapshot file) and hands grpc-js the instances as endpoints,
 * with a service config that selects the "ballast" policy. The policy keeps one subchannel
 * per instance connected (as round_robin does) and marks an instance down in the pool while
 * its subchannel is not READY; its picker asks the pool (p2c, peak EWMA, zone preference)
 * and reports every call's outcome back, a failed call counting as slow.
 *
 * @grpc/grpc-js is an optional peer dependency: it is loaded only when this is called, so
 * undici users of `ballast/client` need not install it. Only grpc-js's public
 * `experimental` API is used (the contracts of its resolver-dns, round_robin and picker).
 */
import { createRequire } from "node:module";
import type * as Grpc from "@grpc/grpc-js";
import type { BackendState } from "../../pool/backend.js";
import type { Pool } from "../../pool/pool.js";
import { ServiceBalancer, type ServiceBalancerOptions } from "./service-balancer.js";

type GrpcModule = typeof Grpc;
type Experimental = typeof Grpc.experimental;
type ChannelControlHelper = Grpc.experimental.ChannelControlHelper;
type Picker = Grpc.experimental.Picker;
type PickArgs = Grpc.experimental.PickArgs;
type PickResult = Grpc.experimental.PickResult;
type Endpoint = Grpc.experimental.Endpoint;
type LeafLoadBalancer = Grpc.experimental.LeafLoadBalancer;

/** How `ballast:///SERVICE` targets reach the registry and balance. */
export interface BallastGrpcOptions extends ServiceBalancerOptions {
  /**
   * Fully qualified gRPC services ("shop.Catalog") or methods ("shop.Catalog/Get") whose calls
   * may be repeated: they get a retry policy on UNAVAILABLE (5 attempts), within a retry
   * throttle of 20 % of successful calls (grpc's retryThrottling, Finagle's budget in spirit).
   * A channel's own `grpc.service_config` method configs are kept and come first.
   */
  idempotent?: readonly string[];
  /** The latency a failed call reports, so errors look slow to peak EWMA (ms; 5000). */
  errorLatencyMs?: number;
  /** How long a channel waits for the service's first list before failing calls (ms; 10 s). */
  readyTimeoutMs?: number;
  /** The grpc-js module to register with; by default the one `require` finds from here. */
  grpc?: GrpcModule;
}

/** The URI scheme and the policy name. */
export const BALLAST_SCHEME = "ballast";
/** Resolver attributes reach the policy as channel options; this prefix keeps it off subchannels. */
const BALANCER_OPTION = "grpc.internal.no_subchannel.ballast_balancer";
/** Status codes that say the instance, not the request, failed: they count as slow. */
// UNKNOWN, DEADLINE_EXCEEDED, RESOURCE_EXHAUSTED, INTERNAL, UNAVAILABLE, DATA_LOSS. An
// application's answers (NOT_FOUND, INVALID_ARGUMENT, ...) and the caller's CANCELLED are not.
const FAILURE_CODES = new Set([2, 4, 8, 13, 14, 15]);

let settings: BallastGrpcOptions | undefined;
let registeredWith: GrpcModule | undefined;

/**
 * Registers the `ballast` resolver and load-balancing policy with grpc-js; channels created
 * afterwards with target `ballast:///SERVICE` balance over SERVICE's registered instances.
 * Calling it again changes the settings for channels created afterwards.
 */
export function registerBallastResolver(options: BallastGrpcOptions): void {
  const grpc = options.grpc ?? loadGrpc();
  settings = options;
  if (registeredWith === grpc) return;
  registeredWith = grpc;
  const { resolver, policy, config } = buildClasses(grpc);
  grpc.experimental.registerResolver(BALLAST_SCHEME, resolver);
  grpc.experimental.registerLoadBalancerType(BALLAST_SCHEME, policy, config);
}

/** grpc-js as `require` finds it from here, or an error that says what to install. */
function loadGrpc(): GrpcModule {
  try {
    return createRequire(import.meta.url)("@grpc/grpc-js") as GrpcModule;
  } catch (error) {
    throw new Error(
      `registerBallastResolver needs @grpc/grpc-js (an optional peer dependency of ballast): install it, or pass { grpc } (${(error as Error).message.split("\n")[0]})`,
    );
  }
}

function currentSettings(): BallastGrpcOptions {
  if (settings === undefined) throw new Error("call registerBallastResolver() first");
  return settings;
}

/** The service config a ballast target gets: the channel's method configs, then ours. */
function serviceConfig(
  channelOptions: Grpc.ChannelOptions,
  options: BallastGrpcOptions,
): Grpc.ServiceConfig {
  let base: Partial<Grpc.ServiceConfig> = {};
  const raw = channelOptions["grpc.service_config"];
  if (typeof raw === "string") base = JSON.parse(raw) as Partial<Grpc.ServiceConfig>;
  const methodConfig = [...(base.methodConfig ?? [])];
  const idempotent = options.idempotent ?? [];
  if (idempotent.length > 0) {
    methodConfig.push({
      name: idempotent.map((name) => {
        const [service, method] = name.split("/");
        return method === undefined ? { service } : { service, method };
      }),
      retryPolicy: {
        // grpc-js's ceiling: an instance killed mid-run may take a second attempt too, until
        // its subchannel is seen to be down.
        maxAttempts: 5,
        initialBackoff: "0.02s",
        maxBackoff: "0.5s",
        backoffMultiplier: 2,
        retryableStatusCodes: ["UNAVAILABLE"],
      },
    });
  }
  return {
    ...base,
    loadBalancingConfig: [{ [BALLAST_SCHEME]: { errorLatencyMs: options.errorLatencyMs ?? 5000 } }],
    methodConfig,
    // Every failed attempt takes a token and retries stop below half the bucket; 10 tokens
    // (grpc's example) stop them after the burst of five failures one killed instance causes.
    retryThrottling: base.retryThrottling ?? { maxTokens: 100, tokenRatio: 0.2 },
  };
}

function addressKey(host: string, port: number): string {
  return `${host}|${port}`;
}

/** The resolver, policy and config classes, built against the given grpc-js module. */
function buildClasses(grpc: GrpcModule) {
  const x: Experimental = grpc.experimental;
  const READY = grpc.connectivityState.READY;
  const CONNECTING = grpc.connectivityState.CONNECTING;
  const IDLE = grpc.connectivityState.IDLE;
  const TRANSIENT_FAILURE = grpc.connectivityState.TRANSIENT_FAILURE;

  /** `ballast:///SERVICE`: endpoints from the registry, through a ServiceBalancer. */
  class BallastResolver implements Grpc.experimental.Resolver {
    private readonly service: string;
    private balancer: ServiceBalancer | undefined;
    private unsubscribe: (() => void) | undefined;
    private readyTimer: NodeJS.Timeout | undefined;
    private pending = false;

    constructor(
      target: Grpc.experimental.GrpcUri,
      private readonly listener: Grpc.experimental.ResolverListener,
      private readonly channelOptions: Grpc.ChannelOptions,
    ) {
      this.service = target.path.replace(/^\/+/, "");
    }

    static getDefaultAuthority(target: Grpc.experimental.GrpcUri): string {
      return target.path.replace(/^\/+/, "");
    }

    updateResolution(): void {
      if (this.balancer === undefined) {
        const options = currentSettings();
        const balancer = new ServiceBalancer(this.service, options);
        this.balancer = balancer;
        this.unsubscribe = balancer.onChange(() => this.reportSoon());
        void balancer.ready.then(() => {
          if (this.balancer === balancer) this.reportSoon();
        });
        this.readyTimer = setTimeout(() => {
          if (this.balancer === balancer && balancer.pool.size === 0) {
            this.listener(
              x.statusOrFromError({
                code: grpc.status.UNAVAILABLE,
                details: `no instance of service "${this.service}" is known: the registry cannot be reached and there is no snapshot`,
              }),
              {},
              null,
              "",
            );
          }
        }, options.readyTimeoutMs ?? 10_000);
        this.readyTimer.unref();
      }
      // Never synchronously with the constructor or this call (the Resolver contract).
      if (this.balancer.pool.size > 0) this.reportSoon();
    }

    destroy(): void {
      clearTimeout(this.readyTimer);
      this.unsubscribe?.();
      this.balancer?.close();
      this.balancer = undefined;
    }

    private reportSoon(): void {
      if (this.pending) return;
      this.pending = true;
      setImmediate(() => {
        this.pending = false;
        this.report();
      });
    }

    private report(): void {
      const balancer = this.balancer;
      if (balancer === undefined) return;
      clearTimeout(this.readyTimer);
      const endpoints: Endpoint[] = balancer
        .serving()
        .map(({ host, port }) => ({ addresses: [{ host, port }] }));
      let config: Grpc.ServiceConfig;
      try {
        config = serviceConfig(this.channelOptions, currentSettings());
      } catch (error) {
        this.listener(
          x.statusOrFromValue(endpoints),
          { [BALANCER_OPTION]: balancer },
          x.statusOrFromError({
            code: grpc.status.UNAVAILABLE,
            details: `bad grpc.service_config: ${(error as Error).message}`,
          }),
          "",
        );
        return;
      }
      this.listener(
        x.statusOrFromValue(endpoints),
        { [BALANCER_OPTION]: balancer },
        x.statusOrFromValue(config),
        `registry service "${this.service}"`,
      );
    }
  }

  /** The "ballast" policy's config: `{ "ballast": { "errorLatencyMs": 5000 } }`. */
  class BallastConfig implements Grpc.experimental.TypedLoadBalancingConfig {
    constructor(readonly errorLatencyMs: number) {}
    getLoadBalancerName(): string {
      return BALLAST_SCHEME;
    }
    toJsonObject(): object {
      return { [BALLAST_SCHEME]: { errorLatencyMs: this.errorLatencyMs } };
    }
    static createFromJson(json: unknown): BallastConfig {
      const value = (json as { errorLatencyMs?: unknown } | null)?.errorLatencyMs ?? 5000;
      if (typeof value !== "number" || !Number.isFinite(value) || value < 0) {
        throw new Error(
          `ballast load-balancing config: errorLatencyMs must be a non-negative number of ms, got ${JSON.stringify(value)}`,
        );
      }
      return new BallastConfig(value);
    }
  }

  interface Child {
    leaf: LeafLoadBalancer;
    state: Grpc.connectivityState;
  }

  /** The "ballast" policy: one subchannel per instance, the pool chooses. */
  class BallastPolicy implements Grpc.experimental.LoadBalancer {
    private readonly children = new Map<string, Child>();
    private balancer: ServiceBalancer | undefined;
    private errorLatencyMs = 5000;
    private updating = false;
    private destroyed = false;

    constructor(private readonly helper: ChannelControlHelper) {}

    updateAddressList(
      endpoints: Grpc.experimental.StatusOr<Endpoint[]>,
      config: Grpc.experimental.TypedLoadBalancingConfig,
      options: Grpc.ChannelOptions,
      note: string,
    ): boolean {
      if (!(config instanceof BallastConfig)) return false;
      this.errorLatencyMs = config.errorLatencyMs;
      if (!endpoints.ok) {
        if (this.children.size === 0) this.fail(endpoints.error.details);
        return true;
      }
      const balancer = options[BALANCER_OPTION] as ServiceBalancer | undefined;
      if (!(balancer instanceof ServiceBalancer)) {
        this.fail(
          'the "ballast" policy needs the ballast resolver: use a ballast:///SERVICE target',
        );
        return true;
      }
      this.balancer = balancer;
      const wanted = new Map<string, Endpoint>();
      for (const endpoint of endpoints.value) {
        const address = endpoint.addresses[0] as { host?: string; port?: number } | undefined;
        if (address?.host === undefined || address.port === undefined) continue;
        wanted.set(addressKey(address.host, address.port), endpoint);
      }
      this.updating = true;
      for (const [key, child] of this.children) {
        if (!wanted.has(key)) {
          child.leaf.destroy();
          this.children.delete(key);
        }
      }
      for (const [key, endpoint] of wanted) {
        if (this.children.has(key)) continue;
        const childHelper = x.createChildChannelControlHelper(this.helper, {
          updateState: (state) => {
            const child = this.children.get(key);
            if (child === undefined || this.destroyed) return;
            if (child.state === READY && state !== READY) this.helper.requestReresolution();
            child.state = state;
            if (state === IDLE) child.leaf.exitIdle(); // keep every instance connected
            if (!this.updating) this.publish();
          },
        });
        const leaf = new x.LeafLoadBalancer(endpoint, childHelper, options, note);
        this.children.set(key, { leaf, state: IDLE });
        leaf.startConnecting();
      }
      this.updating = false;
      this.publish();
      return true;
    }

    exitIdle(): void {
      for (const child of this.children.values()) if (child.state === IDLE) child.leaf.exitIdle();
    }

    resetBackoff(): void {
      // Each leaf's subchannel keeps its own backoff.
    }

    destroy(): void {
      this.destroyed = true;
      for (const child of this.children.values()) child.leaf.destroy();
      this.children.clear();
    }

    getTypeName(): string {
      return BALLAST_SCHEME;
    }

    private fail(details: string): void {
      this.helper.updateState(TRANSIENT_FAILURE, new x.UnavailablePicker({ details }), details);
    }

    /** Marks instances up or down by their subchannels, then gives the channel a picker. */
    private publish(): void {
      const balancer = this.balancer;
      if (balancer === undefined || this.destroyed) return;
      const pool = balancer.pool;
      const leaves = new Map<BackendState, LeafLoadBalancer>();
      let ready = 0;
      let connecting = 0;
      for (const backend of [...pool.backends]) {
        const child = this.children.get(addressKey(backend.host, backend.port));
        const up = child?.state === READY;
        pool.setHealth(
          backend.id,
          up ? "up" : "down",
          up ? "grpc subchannel ready" : "grpc subchannel not ready",
        );
        if (child !== undefined && up) leaves.set(backend, child.leaf);
      }
      for (const child of this.children.values()) {
        if (child.state === READY) ready++;
        else if (child.state === CONNECTING || child.state === IDLE) connecting++;
      }
      if (ready > 0) {
        this.helper.updateState(
          READY,
          new BallastPicker(pool, leaves, this.errorLatencyMs, balancer.service),
          null,
        );
      } else if (connecting > 0) {
        this.helper.updateState(CONNECTING, new x.QueuePicker(this), null);
      } else {
        const details =
          this.children.size === 0
            ? `service "${balancer.service}" has no instances`
            : `no instance of service "${balancer.service}" can be reached`;
        this.fail(details);
      }
    }
  }

  /** Chooses with the pool; reports each call's outcome (a failure counts as slow). */
  class BallastPicker implements Picker {
    constructor(
      private readonly pool: Pool,
      private readonly leaves: Map<BackendState, LeafLoadBalancer>,
      private readonly errorLatencyMs: number,
      private readonly service: string,
    ) {}

    pick(args: PickArgs): PickResult {
      const backend = this.pool.pick();
      const leaf = backend === undefined ? undefined : this.leaves.get(backend);
      if (backend === undefined || leaf === undefined) {
        return {
          pickResultType: x.PickResultType.TRANSIENT_FAILURE,
          subchannel: null,
          status: {
            code: grpc.status.UNAVAILABLE,
            details: `no instance of service "${this.service}" can take the call`,
            metadata: new grpc.Metadata(),
          },
          onCallStarted: null,
          onCallEnded: null,
        };
      }
      const result = leaf.getPicker().pick(args);
      if (result.pickResultType !== x.PickResultType.COMPLETE) return result;
      const pool = this.pool;
      const errorLatencyMs = this.errorLatencyMs;
      let lease: ReturnType<Pool["take"]> | undefined;
      let startedAt = 0;
      // The lease is taken when the call really starts: grpc-js may pick again before that.
      return {
        ...result,
        onCallStarted: () => {
          lease = pool.take(backend);
          lease.established();
          startedAt = performance.now();
          result.onCallStarted?.();
        },
        onCallEnded: (code, details, metadata) => {
          if (lease !== undefined) {
            const ok = !FAILURE_CODES.has(code);
            const latencyMs = performance.now() - startedAt;
            lease.release({ ok, latencyMs: ok ? latencyMs : Math.max(latencyMs, errorLatencyMs) });
            lease = undefined;
          }
          result.onCallEnded?.(code, details, metadata);
        },
      };
    }
  }

  return { resolver: BallastResolver, policy: BallastPolicy, config: BallastConfig };
}
