/** One backend's live state: what the algorithms read and the data planes update. */
import type { Backend } from "../balancer/types.js";

/** Health as the checkers and the passive detector see it. */
export type Health = "up" | "down";

/** What a database node is: the one that takes writes, or a copy that follows it. */
export type BackendRole = "primary" | "replica";

/** How a backend is described when it joins a pool. */
export interface BackendSpec {
  /** Stable identity; defaults to "host:port". */
  id?: string;
  host: string;
  port: number;
  /** Configured weight; 0 quiesces the backend. Defaults to 1. */
  weight?: number;
  /** Used only when every primary backend is unavailable. */
  backup?: boolean;
  /** Public URL for HTTP-redirect mode (`Location` points here). */
  redirectUrl?: string;
  /** IPVS upper connection threshold (-x): at or above it the backend is overloaded. */
  maxConnections?: number;
  /** IPVS lower threshold (-y): overload clears below it (3/4 of the upper one if unset). */
  minConnections?: number;
  /** Where the backend came from: the config file, the admin API, a heartbeat lease or a registry service. */
  source?: "config" | "api" | "registry" | "discovery";
}

/** Counters that only grow; the admin API and metrics read them. */
export interface BackendCounters {
  picks: number;
  requests: number;
  failures: number;
  /** Failures before the connection opened: refused, unreachable, connect timeout (HAProxy's `econ`). */
  connectErrors: number;
  /** Failures once connected: reset, response timeout, failure status (HAProxy's `eresp`). */
  responseErrors: number;
  bytesIn: number;
  bytesOut: number;
}

/** A backend inside a pool. Fields are public for speed; change them through the pool. */
export class BackendState implements Backend {
  readonly id: string;
  readonly host: string;
  readonly port: number;
  readonly backup: boolean;
  readonly redirectUrl: string | undefined;
  readonly source: "config" | "api" | "registry" | "discovery";
  configuredWeight: number;
  weight: number;
  active = 0;
  inactive = 0;
  /**
   * The part of `active`/`inactive` held by other worker processes (`workers: N`), folded in
   * so connection-count algorithms and overload see the whole balancer; see setSharedCounts.
   */
  sharedActive = 0;
  sharedInactive = 0;
  /** In service: up, enabled, not draining, not suspended. Overload is `overloaded`. */
  available = true;
  latencyMs = 0;
  latencyAt = 0;
  /** Multiplier from dynamic weights (1 = as configured); slow start applies on top. */
  weightFactor = 1;

  health: Health = "up";
  /** The role the last database check found; undefined until one reports it. */
  role: BackendRole | undefined = undefined;
  /**
   * The role the pool serves (its `role` setting); a backend of another role, or of one not
   * known yet, is out of service, so writes never reach a replica. Undefined: any role.
   */
  wantedRole: BackendRole | undefined = undefined;
  enabled = true;
  draining = false;
  /** IPVS OVERLOAD: at `maxConnections`, until below `minConnections` (see refreshOverload). */
  overloaded = false;
  /** Passive detection: not picked before this time (ms on the pool clock). */
  suspendedUntil = 0;
  /** When the backend last came up, for slow start (ms on the pool clock). */
  upSince = 0;
  maxConnections: number;
  minConnections: number;
  /** Most connections seen active at once (HAProxy's `smax`). */
  peakActive = 0;
  /** Most connections seen opening at once: connecting or waiting for a socket (`qmax`). */
  peakInactive = 0;
  /** When `health` last changed, or the backend joined (ms on the pool clock). */
  healthSince = 0;
  /** Time spent down before the current state (ms); see `downtimeMs()`. */
  pastDowntimeMs = 0;
  readonly counters: BackendCounters = {
    picks: 0,
    requests: 0,
    failures: 0,
    connectErrors: 0,
    responseErrors: 0,
    bytesIn: 0,
    bytesOut: 0,
  };

  constructor(spec: BackendSpec) {
    this.host = spec.host;
    this.port = spec.port;
    this.id = spec.id ?? formatHostPort(spec.host, spec.port);
    this.configuredWeight = spec.weight ?? 1;
    this.weight = this.configuredWeight;
    this.backup = spec.backup ?? false;
    this.redirectUrl = spec.redirectUrl;
    this.source = spec.source ?? "config";
    this.maxConnections = spec.maxConnections ?? 0;
    this.minConnections = spec.minConnections ?? 0;
  }

  /** Total time spent down up to `now` (pool clock ms), as HAProxy's `downtime`. */
  downtimeMs(now: number): number {
    return this.pastDowntimeMs + (this.health === "down" ? now - this.healthSince : 0);
  }

  /** Every connection the backend holds, opening, open or closing. */
  get connections(): number {
    return this.active + this.inactive;
  }

  /**
   * Recomputes `overloaded` from the IPVS thresholds: set at `connections >= max`, cleared
   * below `min` (or below 3/4 of `max` when no lower threshold is set). Returns true when
   * the flag changed.
   */
  refreshOverload(): boolean {
    if (this.maxConnections <= 0) {
      if (!this.overloaded) return false;
      this.overloaded = false;
      return true;
    }
    const total = this.active + this.inactive;
    // Without -y the kernel clears when total * 4 < max * 3 (ip_vs_unbind_dest); flooring
    // max * 3 / 4 instead would keep the flag one connection too long when max % 4 != 0.
    const stillOverloaded =
      this.minConnections > 0 ? total >= this.minConnections : total * 4 >= this.maxConnections * 3;
    const next = this.overloaded ? stillOverloaded : total >= this.maxConnections;
    if (next === this.overloaded) return false;
    this.overloaded = next;
    return true;
  }

  /**
   * Recomputes `available` (in service: IPVS's IP_VS_DEST_F_AVAILABLE) from health, role,
   * admin state, drain and suspension. Overload is kept apart in `overloaded`, because lblc
   * treats the two differently. `primaryFallback` lets a primary serve a pool that wants
   * replicas (none is in service).
   */
  refreshAvailable(now: number, primaryFallback = false): boolean {
    const next =
      this.health === "up" &&
      (this.wantedRole === undefined ||
        this.role === this.wantedRole ||
        (primaryFallback && this.role === "primary")) &&
      this.enabled &&
      !this.draining &&
      this.suspendedUntil <= now;
    const changed = next !== this.available;
    this.available = next;
    return changed;
  }

  /** A snapshot for the admin API, `ballast ctl` and the dashboard. */
  toJSON(): Record<string, unknown> {
    return {
      id: this.id,
      address: formatHostPort(this.host, this.port),
      weight: this.configuredWeight,
      effectiveWeight: this.weight,
      backup: this.backup,
      active: this.active,
      inactive: this.inactive,
      peakActive: this.peakActive,
      peakInactive: this.peakInactive,
      maxConnections: this.maxConnections,
      health: this.health,
      role: this.role ?? null,
      enabled: this.enabled,
      draining: this.draining,
      overloaded: this.overloaded,
      available: this.available,
      latencyMs: Math.round(this.latencyMs * 100) / 100,
      source: this.source,
      ...this.counters,
    };
  }
}

/** "host:port", with brackets around IPv6 hosts. */
export function formatHostPort(host: string, port: number): string {
  return host.includes(":") ? `[${host}]:${port}` : `${host}:${port}`;
}
