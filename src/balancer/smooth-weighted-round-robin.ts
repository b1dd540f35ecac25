/**
 * Smooth weighted round robin (`wrr`), nginx's algorithm from ngx_http_upstream_round_robin.c
 * (ngx_http_upstream_get_peer): each pick adds every schedulable backend's weight to its
 * `current`, chooses the largest `current` (the first wins ties) and subtracts the total
 * weight from the chosen one. Weights 5, 1, 1 give a a b a c a a, then the cycle repeats.
 *
 * The weight used is the pool's effective weight (slow start and dynamic weights applied);
 * nginx's own `effective_weight` recovery after failures is the pool's business here.
 *
 * Fast path: with integer weights the sequence is periodic with period W = sum of weights.
 * While picking by the direct O(n) algorithm the balancer records the choices; when W
 * consecutive picks over the same set of backends bring every `current` back to where the
 * recording began, the recording is one full cycle and later picks just walk it, O(1).
 * An entry whose backend became unavailable since is skipped by walking on; after a few
 * skips in one pick the balancer works out every `current` at that point and goes back to
 * the direct algorithm. Fractional weights (slow start) and W above CYCLE_LIMIT always use
 * the direct algorithm.
 *
 * On update: nginx keeps each peer's `current` while peers go down and come back, and so
 * does this balancer, by backend identity (a new backend starts at 0). That matters because
 * the pool calls update on every health, drain or overload flip: restarting the schedule at
 * each one would hand the first picks of every cycle, always the heaviest backend, far more
 * than its share. When the kept values are not part of a W-periodic schedule (after weights
 * or membership changed, or slow start left fractions), recording does not close; after
 * RESTART_AFTER_ATTEMPTS tries every `current` is reset to 0, the state nginx starts from
 * on reload, which is periodic with period W, so the fast path is reached again.
 */
import { isSchedulable } from "./common/schedulable.js";
import type { AlgorithmInfo, Backend, Balancer, PickContext } from "./types.js";

/** Longest cycle kept (entries); larger total weights use the direct algorithm. */
const CYCLE_LIMIT = 1 << 20;
/** Unavailable entries skipped in one pick before going back to the direct algorithm. */
const MAX_SKIPS = 8;
/** Failed recordings of W picks before restarting the schedule from zero. */
const RESTART_AFTER_ATTEMPTS = 3;

enum Mode {
  /** Direct algorithm only: fractional weights, W too large, or nothing schedulable. */
  Direct = 0,
  /** Direct algorithm, recording choices until one full cycle is seen. */
  Recording = 1,
  /** Walking the recorded cycle. */
  Cycle = 2,
}

class SmoothWeightedRoundRobin<B extends Backend> implements Balancer<B> {
  readonly name = "wrr";
  private backends: B[] = [];
  /** Weight per backend as of update; 0 when it was not schedulable then. */
  private weights = new Float64Array(0);
  /** nginx's current_weight per backend. */
  private current = new Float64Array(0);
  /** Backends of positive weight in `weights`, and their total weight. */
  private memberCount = 0;
  private totalWeight = 0;

  private mode = Mode.Direct;
  /** Backend indices of one full cycle (valid up to `totalWeight` in Cycle mode). */
  private cycle = new Int32Array(0);
  private recorded = 0;
  private attempts = 0;
  /** `current` when the recording began: the state at cycle position 0. */
  private recordStart = new Float64Array(0);
  private position = 0;
  /** Set by directStep: whether every member took part (the step can join a recording). */
  private completeStep = false;

  update(backends: readonly B[]): void {
    const previous = this.backends;
    const unchanged = sameMembers(previous, backends);
    // The pool also updates on events that change nothing here (another backend's timer,
    // a refresh): then the schedule, and the fast path, simply go on.
    if (unchanged && sameSchedulableWeights(backends, this.weights)) return;
    if (this.mode === Mode.Cycle) this.materializeCurrent();
    const next = new Float64Array(backends.length);
    if (unchanged) next.set(this.current);
    else if (previous.length > 0) {
      const indexOf = new Map<B, number>();
      for (let i = 0; i < previous.length; i++) indexOf.set(previous[i], i);
      for (let i = 0; i < backends.length; i++) {
        const old = indexOf.get(backends[i]);
        if (old !== undefined) next[i] = this.current[old];
      }
    }
    this.backends = backends.slice();
    this.current = next;
    this.weights = new Float64Array(backends.length);
    this.recordStart = new Float64Array(backends.length);
    let members = 0;
    let total = 0;
    let integral = true;
    for (let i = 0; i < backends.length; i++) {
      const backend = backends[i];
      if (!isSchedulable(backend)) continue;
      this.weights[i] = backend.weight;
      members++;
      total += backend.weight;
      if (!Number.isInteger(backend.weight)) integral = false;
    }
    this.memberCount = members;
    this.totalWeight = total;
    this.recorded = 0;
    this.attempts = 0;
    this.position = 0;
    if (members > 0 && integral && total <= CYCLE_LIMIT) {
      if (this.cycle.length < total) this.cycle = new Int32Array(total);
      this.mode = Mode.Recording;
    } else {
      this.mode = Mode.Direct;
    }
  }

  pick(_context: PickContext): B | undefined {
    if (this.mode === Mode.Cycle) {
      const cycle = this.cycle;
      const length = this.totalWeight;
      for (let skips = 0; skips < MAX_SKIPS; skips++) {
        const backend = this.backends[cycle[this.position]];
        if (++this.position === length) this.position = 0;
        if (isSchedulable(backend)) return backend;
      }
      // Too much of the cycle is unavailable: continue from the equivalent nginx state.
      this.materializeCurrent();
      this.mode = Mode.Recording;
      this.recorded = 0;
    }
    if (this.mode === Mode.Recording) return this.recordingStep();
    const index = this.directStep();
    return index < 0 ? undefined : this.backends[index];
  }

  /** One direct pick that also records, switching to the cycle once one is complete. */
  private recordingStep(): B | undefined {
    if (this.recorded === 0) this.recordStart.set(this.current);
    const index = this.directStep();
    if (index < 0) return undefined;
    if (!this.completeStep) {
      this.recorded = 0;
      return this.backends[index];
    }
    this.cycle[this.recorded++] = index;
    if (this.recorded === this.totalWeight) {
      this.recorded = 0;
      if (sameValues(this.current, this.recordStart)) {
        this.mode = Mode.Cycle;
        this.position = 0;
      } else if (++this.attempts >= RESTART_AFTER_ATTEMPTS) {
        this.current.fill(0);
        this.attempts = 0;
      }
    }
    return this.backends[index];
  }

  /** nginx's pick over the backends schedulable now; returns the index, or -1. */
  private directStep(): number {
    const list = this.backends;
    const weights = this.weights;
    const current = this.current;
    let best = -1;
    let total = 0;
    let considered = 0;
    for (let i = 0; i < list.length; i++) {
      const weight = weights[i];
      if (weight === 0) continue;
      const backend = list[i];
      if (!isSchedulable(backend)) continue;
      considered++;
      total += weight;
      current[i] += weight;
      if (best < 0 || current[i] > current[best]) best = i;
    }
    this.completeStep = considered === this.memberCount;
    if (best >= 0) current[best] -= total;
    return best;
  }

  /** Sets `current` to the state at the cycle position, as if each entry had been picked. */
  private materializeCurrent(): void {
    const current = this.current;
    const weights = this.weights;
    const steps = this.position;
    current.set(this.recordStart);
    for (let i = 0; i < current.length; i++) current[i] += steps * weights[i];
    for (let k = 0; k < steps; k++) current[this.cycle[k]] -= this.totalWeight;
  }
}

function sameMembers<B>(a: readonly B[], b: readonly B[]): boolean {
  if (a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false;
  return true;
}

function sameSchedulableWeights<B extends Backend>(
  list: readonly B[],
  weights: Float64Array,
): boolean {
  for (let i = 0; i < list.length; i++) {
    const backend = list[i];
    const weight = isSchedulable(backend) ? backend.weight : 0;
    if (weight !== weights[i]) return false;
  }
  return true;
}

function sameValues(a: Float64Array, b: Float64Array): boolean {
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false;
  return true;
}

export const smoothWeightedRoundRobin: AlgorithmInfo = {
  name: "wrr",
  description: "smooth weighted round robin: nginx's interleaved weighted order",
  usesKey: false,
  weighted: true,
  create: () => new SmoothWeightedRoundRobin(),
};
