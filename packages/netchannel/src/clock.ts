/**
 * What the stack needs from the machine's notion of time. The kernel supplies
 * both from sched's timers; tests use VirtualClock; the host helpers in
 * `host/` use Node's timers.
 */

/** A monotonic clock. */
export interface Clock {
  /** Milliseconds since an arbitrary origin; never decreases; may be fractional. */
  now(): number;
}

/** Identifies a timer armed with TimerService.setTimer. */
export type TimerHandle = number;

/**
 * One-shot timers. The stack keeps its own timer heap (TCP arms and cancels a
 * timer per segment) and asks the service for one timer at a time, at its
 * earliest deadline, so implementations need not be fast.
 */
export interface TimerService {
  /**
   * Calls `fire` once, at or after `deadlineMs` on the service's clock. Returns
   * a handle for clearTimer. `fire` runs outside any stack call (never
   * re-entrantly from inside setTimer).
   */
  setTimer(deadlineMs: number, fire: () => void): TimerHandle;
  /** Cancels a timer; a handle that already fired or was cleared is ignored. */
  clearTimer(handle: TimerHandle): void;
}
