/** A backend taken for one connection or request, with exact connection accounting. */
import type { BackendState } from "./backend.js";

/** What happened to a connection or request, reported once when it ends. */
export interface Outcome {
  /** False for connect errors, timeouts, resets and failure statuses. */
  ok: boolean;
  /** Time to the backend's answer (L7: response headers; L4: connect), if measured. */
  latencyMs?: number;
  bytesIn?: number;
  bytesOut?: number;
}

/** The part of a pool that a lease reports back to. */
export interface LeaseOwner {
  /** Called once per lease state change so the owner can keep counts and flags right. */
  onLeaseChange(backend: BackendState, from: LeaseState, to: LeaseState, outcome?: Outcome): void;
}

export type LeaseState = "opening" | "active" | "closed";

/**
 * A backend held by one connection or request. It counts as *inactive* while opening,
 * *active* once `established()` is called, and stops counting at `release()`. Both calls are
 * idempotent, so error paths may call `release` more than once without skewing the counts.
 */
export class Lease {
  state: LeaseState = "opening";

  constructor(
    readonly backend: BackendState,
    private readonly owner: LeaseOwner,
    /** Clock time when the backend was picked. */
    readonly startedAt: number,
  ) {}

  /** The connection is open (L4) or the request is in flight (L7). */
  established(): void {
    if (this.state !== "opening") return;
    this.state = "active";
    this.owner.onLeaseChange(this.backend, "opening", "active");
  }

  /** The connection or request ended; the outcome feeds latency, counters and passive health. */
  release(outcome: Outcome): void {
    if (this.state === "closed") return;
    const from = this.state;
    this.state = "closed";
    this.owner.onLeaseChange(this.backend, from, "closed", outcome);
  }

  get closed(): boolean {
    return this.state === "closed";
  }
}
