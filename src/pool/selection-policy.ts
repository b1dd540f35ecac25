/**
 * The policy around a pool's algorithm, kept apart from the pool's state as Envoy keeps its
 * load balancer apart from the host sets: which backends the algorithm is asked about
 * (primaries, then backups), Envoy's panic mode, HAProxy's round robin for a keyed pool
 * asked without a key, and the exclusion of backends a request already tried.
 */
import { algorithms, createBalancer, isAlgorithmName, isSchedulable } from "../balancer/index.js";
import type { Balancer, BalancerOptions, PickContext } from "../balancer/types.js";
import type { BackendState } from "./backend.js";

/** How many times the algorithm is asked again before scanning for an untried backend. */
const TRIED_REPICKS = 4;

/** What the policy is configured with. */
export interface PolicyOptions {
  algorithm: string;
  algorithmOptions: BalancerOptions;
  /** Below this share of healthy primaries (percent), spread over all of them; 0 = off. */
  panicThresholdPercent: number;
}

/** One pool's selection policy; the pool rebuilds it after every state change. */
export class SelectionPolicy {
  private primaries: readonly BackendState[] = [];
  private backups: readonly BackendState[] = [];
  private primaryBalancer: Balancer<BackendState>;
  private backupBalancer: Balancer<BackendState>;
  /** Primaries whose health is up, for the panic threshold. */
  private healthyPrimaries = 0;
  /** A shared cursor for the rotations (keyless picks, panic mode, the tried scan). */
  private cursor = 0;
  /** True when the algorithm decides by the key (the hashing schedulers). */
  keyed = false;

  constructor(private options: PolicyOptions) {
    this.primaryBalancer = this.makeBalancer();
    this.backupBalancer = this.makeBalancer();
  }

  /** A new algorithm or options; returns true when the algorithm itself changed. */
  configure(options: PolicyOptions): boolean {
    const changed =
      options.algorithm !== this.options.algorithm ||
      JSON.stringify(options.algorithmOptions) !== JSON.stringify(this.options.algorithmOptions);
    this.options = options;
    if (changed) {
      this.primaryBalancer = this.makeBalancer();
      this.backupBalancer = this.makeBalancer();
    }
    return changed;
  }

  /** The pool's members after a change (availability already refreshed). */
  update(primaries: readonly BackendState[], backups: readonly BackendState[]): void {
    this.primaries = primaries;
    this.backups = backups;
    let healthy = 0;
    for (const backend of primaries) if (backend.health === "up") healthy++;
    this.healthyPrimaries = healthy;
    this.primaryBalancer.update(primaries);
    this.backupBalancer.update(backups);
  }

  /**
   * The backend for `context`, never one of `tried` (a retry's earlier backends) while an
   * untried one can serve; undefined when none can.
   */
  choose(context: PickContext, tried: readonly BackendState[]): BackendState | undefined {
    let chosen = this.chooseOnce(context);
    if (tried.length === 0 || chosen === undefined || !tried.includes(chosen)) return chosen;
    for (let i = 0; i < TRIED_REPICKS; i++) {
      chosen = this.chooseOnce(context);
      if (chosen !== undefined && !tried.includes(chosen)) return chosen;
    }
    const untried = (backend: BackendState) => isSchedulable(backend) && !tried.includes(backend);
    return this.rotate(this.primaries, untried) ?? this.rotate(this.backups, untried);
  }

  private chooseOnce(context: PickContext): BackendState | undefined {
    const threshold = this.options.panicThresholdPercent;
    if (threshold > 0 && this.inPanic(threshold)) {
      // Every primary down and a backup up: the backup serves (HAProxy `backup`); spreading
      // over dead primaries is for when nothing healthy is left at all.
      const backup = this.healthyPrimaries === 0 ? this.backupBalancer.pick(context) : undefined;
      return backup ?? this.pickInPanic();
    }
    if (context.key === undefined && this.keyed) return this.pickWithoutKey();
    const chosen = this.primaryBalancer.pick(context);
    if (chosen !== undefined || this.backups.length === 0) return chosen;
    return this.backupBalancer.pick(context);
  }

  /**
   * A hashing pool asked without a key (the header, cookie or parameter is absent): as
   * HAProxy's `balance hdr()`/`url_param` do, fall back to round robin rather than hashing
   * the empty string, which would send every such request to one backend.
   */
  private pickWithoutKey(): BackendState | undefined {
    return this.rotate(this.primaries, isSchedulable) ?? this.rotate(this.backups, isSchedulable);
  }

  /** The next backend after the shared cursor that passes `usable`, advancing the cursor. */
  private rotate(
    list: readonly BackendState[],
    usable: (backend: BackendState) => boolean,
  ): BackendState | undefined {
    for (let i = 0; i < list.length; i++) {
      const index = (this.cursor + i) % list.length;
      if (usable(list[index])) {
        this.cursor = (index + 1) % list.length;
        return list[index];
      }
    }
    return undefined;
  }

  /** Envoy's panic mode: too few healthy primaries, so spread over all that are enabled. */
  private inPanic(thresholdPercent: number): boolean {
    const total = this.primaries.length;
    return total > 0 && this.healthyPrimaries * 100 < thresholdPercent * total;
  }

  private pickInPanic(): BackendState | undefined {
    // Health is ignored here, the connection limit is not: it protects the few still up.
    return this.rotate(
      this.primaries,
      (b) => b.enabled && !b.draining && !b.overloaded && b.weight > 0,
    );
  }

  private makeBalancer(): Balancer<BackendState> {
    const name = this.options.algorithm;
    this.keyed = isAlgorithmName(name) && algorithms[name].usesKey;
    return createBalancer(name, this.options.algorithmOptions) as Balancer<BackendState>;
  }
}
