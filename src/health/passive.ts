/**
 * Passive detection, nginx's `max_fails` / `fail_timeout`: `maxFails` failed requests or
 * connections within `failTimeoutMs` suspend a backend for `failTimeoutMs`; after that it is
 * tried again. As in nginx, the first outcome after a suspension decides: a failure
 * suspends it again at once, a success clears its count. A pool of one backend is never
 * suspended (nginx ignores max_fails for a single server: there is nothing to fail over to),
 * nor is the last backend that still serves.
 */
import type { BackendState } from "../pool/backend.js";
import type { Outcome } from "../pool/lease.js";
import type { Pool } from "../pool/pool.js";

/** nginx's two knobs, in ms. */
export interface PassiveOptions {
  /** Failures within the window that suspend a backend; 0 turns detection off. */
  maxFails: number;
  /** The counting window and the length of a suspension. */
  failTimeoutMs: number;
}

/** What the detector remembers of one backend. */
interface FailureWindow {
  fails: number;
  windowStart: number;
  /** Back from a suspension and not yet judged by an outcome. */
  onTrial: boolean;
}

/** Watches the pool's outcomes and suspends failing backends; returns the detach function. */
export function attachPassiveDetection(pool: Pool, options: PassiveOptions): () => void {
  if (options.maxFails <= 0) return () => {};
  const windows = new WeakMap<BackendState, FailureWindow>();
  const { maxFails, failTimeoutMs } = options;

  const suspend = (backend: BackendState, window: FailureWindow, now: number) => {
    window.fails = 0;
    // The last backend still serving stays: suspending it would turn failing requests
    // into refused ones (nginx, too, tries its servers again once all have failed).
    if (!pool.anotherServes(backend)) return;
    window.onTrial = true;
    pool.suspend(backend.id, now + failTimeoutMs);
  };

  // Runs once per finished request or connection: no allocation on the success path.
  return pool.onOutcome((backend: BackendState, outcome: Outcome, now: number) => {
    let window = windows.get(backend);
    if (outcome.ok) {
      if (window?.onTrial && backend.suspendedUntil <= now) {
        window.onTrial = false;
        window.fails = 0;
      }
      return;
    }
    // Requests that were already in flight when the backend was suspended say nothing new.
    if (backend.suspendedUntil > now) return;
    if (pool.backends.length <= 1) return;
    if (window === undefined) {
      window = { fails: 0, windowStart: now, onTrial: false };
      windows.set(backend, window);
    }
    if (window.onTrial) return suspend(backend, window, now);
    if (window.fails === 0 || now - window.windowStart > failTimeoutMs) {
      window.fails = 0;
      window.windowStart = now;
    }
    window.fails++;
    if (window.fails >= maxFails) suspend(backend, window, now);
  });
}
