/**
 * A virtual clock and timer service for tests and simulations: time moves only
 * when the caller advances it, so runs are fast and deterministic whatever the
 * machine's load.
 */
import type { Clock, TimerHandle, TimerService } from './clock.js';
import { Timer, TimerQueue } from './internal/timerQueue.js';

/**
 * Virtual time (milliseconds) plus one-shot timers fired in deadline order
 * (ties in arming order) as time advances. Use it as both the `clock` and the
 * `timers` of a stack, a link shim, or a test's own schedule.
 */
export class VirtualClock implements Clock, TimerService {
  private time: number;
  private readonly queue = new TimerQueue();
  private readonly byHandle = new Map<TimerHandle, Timer>();
  private nextHandle = 1;

  /** Starts at `startMs` (default 0). */
  constructor(startMs = 0) {
    this.time = startMs;
  }

  /** Current virtual time, ms. */
  now(): number {
    return this.time;
  }

  /** Arms a one-shot timer; see TimerService. */
  setTimer(deadlineMs: number, fire: () => void): TimerHandle {
    const handle = this.nextHandle++;
    const t = new Timer(() => {
      this.byHandle.delete(handle);
      fire();
    });
    this.byHandle.set(handle, t);
    this.queue.arm(t, Math.max(deadlineMs, this.time));
    return handle;
  }

  /** Cancels a timer; see TimerService. */
  clearTimer(handle: TimerHandle): void {
    const t = this.byHandle.get(handle);
    if (t === undefined) return;
    this.byHandle.delete(handle);
    this.queue.cancel(t);
  }

  /** Number of armed timers. */
  get pending(): number {
    return this.queue.size;
  }

  /** Deadline of the earliest armed timer, or Infinity. */
  nextDeadline(): number {
    return this.queue.nextDeadline();
  }

  /**
   * Fires the earliest timer, moving time to its deadline, if that deadline is
   * ≤ `limitMs`. Returns false when no timer is due by then.
   */
  runNext(limitMs = Infinity): boolean {
    const d = this.queue.nextDeadline();
    if (d > limitMs) return false;
    const t = this.queue.popDue(d)!;
    if (d > this.time) this.time = d;
    t.fire();
    return true;
  }

  /** Advances time by `ms`, firing every timer that falls due on the way, in order. */
  advance(ms: number): void {
    const target = this.time + ms;
    while (this.runNext(target)) {
      /* fire in order */
    }
    this.time = target;
  }
}
