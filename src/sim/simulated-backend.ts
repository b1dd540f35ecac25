/**
 * One simulated backend server: serves up to `capacity` requests at once and queues the
 * rest in FIFO order, so an overloaded backend shows up as queueing delay, as a real one
 * does. Slow and down windows come from the scenario.
 */
import type { Lease } from "../pool/lease.js";
import type { DownWindow, SimBackendSpec, SlowWindow } from "./scenario.js";
import type { Workload } from "./workload.js";

/** A request on its way through a backend. */
export interface SimRequest {
  /** Index into the workload. */
  readonly index: number;
  readonly lease: Lease;
  /** Set once it completed or failed; a completion event for a reset request is ignored. */
  done: boolean;
}

/** σ of the log-normal spread: a tail of a few times the mean at p99. */
const LOGNORMAL_SIGMA = 1;

export class SimulatedBackend {
  down = false;
  inService = 0;
  peakInFlight = 0;
  /** Requests sent to this backend (its share). */
  assigned = 0;
  private queue: SimRequest[] = [];
  private queueHead = 0;
  private readonly serving = new Set<SimRequest>();
  /** Down windows in force now: windows may overlap, and the backend is up when none is. */
  private outages = 0;

  constructor(
    readonly spec: SimBackendSpec,
    private readonly slow: readonly SlowWindow[],
    readonly downWindows: readonly DownWindow[],
  ) {}

  /** Requests here now, in service or queued. */
  get inFlight(): number {
    return this.inService + this.queue.length - this.queueHead;
  }

  /**
   * Takes a request. Returns its service time when it starts at once, -1 when it waits in
   * the queue; the caller has already checked that the backend is up.
   */
  accept(request: SimRequest, workload: Workload, now: number): number {
    this.assigned++;
    let serviceMs = -1;
    if (this.inService < this.spec.capacity) serviceMs = this.start(request, workload, now);
    else this.queue.push(request);
    if (this.inFlight > this.peakInFlight) this.peakInFlight = this.inFlight;
    return serviceMs;
  }

  /**
   * A request finished: frees its slot and starts the next queued one. Returns that one and
   * its service time, or undefined when the queue is empty.
   */
  finish(
    request: SimRequest,
    workload: Workload,
    now: number,
  ): { request: SimRequest; serviceMs: number } | undefined {
    this.serving.delete(request);
    this.inService--;
    if (this.queueHead === this.queue.length) return undefined;
    const next = this.queue[this.queueHead++];
    if (this.queueHead > 1024 && this.queueHead * 2 > this.queue.length) {
      // Drop the consumed head now and then so a long run does not keep every request.
      this.queue = this.queue.slice(this.queueHead);
      this.queueHead = 0;
    }
    return { request: next, serviceMs: this.start(next, workload, now) };
  }

  /** The backend goes down: every request in service or queued is reset. Returns them. */
  fail(): SimRequest[] {
    const lost = [...this.serving, ...this.queue.slice(this.queueHead)];
    this.serving.clear();
    this.queue = [];
    this.queueHead = 0;
    this.inService = 0;
    this.outages++;
    this.down = true;
    return lost;
  }

  /** A down window ended; the backend is up again once no other window holds it down. */
  recover(): void {
    if (this.outages > 0) this.outages--;
    this.down = this.outages > 0;
  }

  private start(request: SimRequest, workload: Workload, now: number): number {
    this.inService++;
    this.serving.add(request);
    return this.serviceTime(request.index, workload, now);
  }

  /** Service time of request `i` starting now: its size scaled by this backend's mean. */
  private serviceTime(i: number, workload: Workload, now: number): number {
    const mean = this.spec.meanMs * this.slowdown(now);
    switch (this.spec.spread) {
      case "fixed":
        return mean;
      case "lognormal":
        // exp(σz − σ²/2) has mean 1, so the backend's mean stays as configured.
        return mean * Math.exp(LOGNORMAL_SIGMA * workload.normal[i] - LOGNORMAL_SIGMA ** 2 / 2);
      default:
        return mean * workload.unitExponential[i];
    }
  }

  private slowdown(now: number): number {
    let factor = 1;
    for (const w of this.slow) if (now >= w.fromMs && now < w.toMs) factor *= w.factor;
    return factor;
  }
}
